"""The free-trial page: "Start free trial" on the pricing page leads here (after logging in);
one click starts the plan's trial, no card needed (billing.trials)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import Customer
from accounts.selectors import plan_catalogue
from accounts.views import customer_required
from billing.models import Trial
from billing.promotions import promotion_discounts, promotion_redeemed
from billing.trials import trial_start
from core.errors import ApplicationError
from pricing.display import plan_card


@customer_required
@require_http_methods(["GET", "POST"])
def trial_page(request: HttpRequest, customer: Customer, slug: str) -> HttpResponse:
    plan = get_object_or_404(plan_catalogue(self_serve_only=True), slug=slug, trial_days__gt=0)
    error = None
    status = 200
    code = request.POST.get("promotion_code", "").strip()
    if request.method == "POST":
        try:
            promotion, discounts = promotion_discounts(code)
            state = trial_start(customer=customer, plan=plan, discounts=discounts)
            promotion_redeemed(promotion, customer)
        except ApplicationError as exc:
            error, status = exc.message, exc.status_code
        else:
            messages.success(
                request,
                f"Your {plan.name} trial has started: it is free until "
                f"{state.trial_end:%B %-d, %Y}. Add a card before then to keep {plan.name}.",
            )
            return redirect("dashboard-billing")
    context = {
        "customer": customer,
        "plan": customer.plan,
        "target": plan,
        "target_card": plan_card(plan),
        "used": Trial.objects.filter(customer=customer).exists(),
        "error": error,
        "promotion_code": code,
    }
    return render(request, "billing/trial.html", context, status=status)
