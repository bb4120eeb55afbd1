"""The billing page's ways to Stripe's hosted pages: Checkout to subscribe or to change the card,
and the customer portal. Each answers a POST with a redirect (303) to Stripe; Checkout sends the
customer back to `checkout_done`, which syncs what the session did (billing/checkout.py)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Customer
from accounts.selectors import plan_catalogue
from accounts.views import customer_required
from billing import checkout
from billing.services import default_payment_method
from core.errors import ApplicationError
from core.money import money


class SeeOther(HttpResponseRedirect):
    status_code = 303
    allowed_schemes = ["http", "https"]


def _absolute(request: HttpRequest, name: str) -> str:
    return request.build_absolute_uri(reverse(name))


def to_stripe(request: HttpRequest, start: Callable[[], str]) -> HttpResponse:
    """303 to the Stripe page `start` opens (it returns the page's URL); when Stripe or our
    checks refuse, back to the billing page with the reason shown."""
    try:
        url = start()
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard-billing")
    return SeeOther(url)


@customer_required
@require_POST
def checkout_subscribe(request: HttpRequest, customer: Customer, slug: str) -> HttpResponse:
    plan = get_object_or_404(plan_catalogue(self_serve_only=True), slug=slug)
    return to_stripe(
        request,
        lambda: checkout.checkout_subscription_start(
            customer=customer,
            plan=plan,
            success_url=_absolute(request, "dashboard-checkout-done"),
            cancel_url=request.build_absolute_uri(reverse("dashboard-plan-change", args=[slug])),
        ),
    )


@customer_required
@require_POST
def card_change(request: HttpRequest, customer: Customer) -> HttpResponse:
    return to_stripe(
        request,
        lambda: checkout.checkout_setup_start(
            customer=customer,
            success_url=_absolute(request, "dashboard-checkout-done"),
            cancel_url=_absolute(request, "dashboard-billing"),
        ),
    )


@customer_required
@require_POST
def portal(request: HttpRequest, customer: Customer) -> HttpResponse:
    return to_stripe(
        request,
        lambda: checkout.portal_start(
            customer=customer, return_url=_absolute(request, "dashboard-billing")
        ),
    )


@customer_required
@require_GET
def checkout_done(request: HttpRequest, customer: Customer) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    try:
        session = checkout.checkout_session_complete(session_id=session_id, customer=customer)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard-billing")
    if session is None:
        messages.error(request, "That payment session is not complete: nothing was changed.")
    elif session.mode == "payment":
        amount = money(Decimal(session.amount_total) / 100)
        messages.success(request, f"{amount} of prepaid credits added: they pay usage first.")
    elif session.mode == "setup":
        card = default_payment_method(customer)
        text = f"{card.brand.title()} •••• {card.last4}" if card else "Your new card"
        messages.success(request, f"{text} is now your default card.")
    else:
        customer.refresh_from_db()
        messages.success(request, f"You are now on the {customer.plan.name} plan.")
    return redirect("dashboard-billing")
