"""The site's own pages: the landing page, the quick start, and the error handlers (JSON under
/api/, the portal's pages elsewhere)."""

from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.views.decorators.http import require_GET

from accounts.selectors import DEFAULT_PLAN_SLUG, customer_for_user, plan_catalogue
from core.errors import is_api_request, status_error_response

# The portal's error pages: templates/<status>.html (500.html renders without context, so that
# it works whatever failed).
ERROR_PAGES = {400, 403, 404, 413}


def error_page(request: HttpRequest, status: int) -> HttpResponse:
    if status in ERROR_PAGES:
        return render(request, f"{status}.html", status=status)
    return render(request, "500.html", status=status)


def _error(request: HttpRequest, status: int, message: str | None = None) -> HttpResponse:
    if is_api_request(request):
        return status_error_response(status, message)
    return error_page(request, status)


# Django's handlers (handler400… in petstore/urls.py): JSON under /api/, the portal's pages
# elsewhere. core's request guard renders its refusals through them too.
def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return _error(request, 413)
    return _error(request, 400)


def permission_denied(request, exception=None):
    return _error(request, 403)


def not_found(request, exception=None):
    return _error(request, 404, f"No route for {request.path}.")


def server_error(request):
    return _error(request, 500)


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
    return render(request, "portal/landing.html", context)


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
