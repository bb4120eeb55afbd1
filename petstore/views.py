"""Site pages outside the apps: the landing page, the quick start, and the error handlers."""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.views.decorators.http import require_GET

from accounts.selectors import DEFAULT_PLAN_SLUG, customer_for_user, plan_catalogue


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": "not_found", "message": f"No route for {request.path}."}, status=404
        )
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": "server_error",
                "message": "Something went wrong on our side; it was logged.",
            },
            status=500,
        )
    return render(request, "500.html", status=500)


def _api_base(request: HttpRequest) -> str:
    # The host the visitor reached us on (ALLOWED_HOSTS-checked): commands work as pasted.
    return request.build_absolute_uri("/").rstrip("/")


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    plans = list(plan_catalogue())
    free = next((plan for plan in plans if plan.slug == DEFAULT_PLAN_SLUG), None)
    paid = [plan for plan in plans if plan.monthly_price]
    context = {
        "free_plan": free,
        "cheapest_paid": min(paid, key=lambda plan: plan.monthly_price) if paid else None,
        "api_base": _api_base(request),
        "customer": customer_for_user(request.user),
    }
    return render(request, "landing.html", context)


@dataclass(frozen=True)
class CodeSample:
    name: str  # the code element's id is qs-<name>
    label: str
    template: str  # a file under templates/, shown as is (never rendered)

    @property
    def code(self) -> str:
        return get_template(self.template).template.source.rstrip("\n")


# The quick start's code. tests/sdks/test_quickstart.py runs these very files against a live
# server (with only PETSTORE_BASE_URL and PETSTORE_API_KEY set) and checks the page shows them.
QUICKSTART_REGISTER = CodeSample("register", "curl", "docs/quickstart/register.sh")
QUICKSTART_USAGE = CodeSample("usage", "curl", "docs/quickstart/usage.sh")
QUICKSTART_FLOW = (
    CodeSample("curl", "curl", "docs/quickstart/quickstart.sh"),
    CodeSample("python", "Python", "docs/quickstart/quickstart.py"),
    CodeSample("javascript", "JavaScript", "docs/quickstart/quickstart.js"),
    CodeSample("go", "Go", "docs/quickstart/quickstart.go"),
)


@require_GET
def quickstart(request: HttpRequest) -> HttpResponse:
    plans = list(plan_catalogue())
    context = {
        "api_base": _api_base(request),
        "free_plan": next((plan for plan in plans if plan.slug == DEFAULT_PLAN_SLUG), None),
        "customer": customer_for_user(request.user),
        "snippets": {"register": QUICKSTART_REGISTER.code, "usage": QUICKSTART_USAGE.code},
        "flow_samples": QUICKSTART_FLOW,
    }
    return render(request, "docs/quickstart.html", context)
