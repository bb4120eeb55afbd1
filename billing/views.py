"""The customer's billing pages: plans and subscription, payment method and invoices. Every
write goes through billing.services; their ApplicationErrors are shown to the customer (their
`.message`), never turned into a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Customer
from accounts.selectors import plan_catalogue
from accounts.views import customer_required
from billing import previews, selectors, services
from billing.credits_views import credits_context
from billing.errors import ContractPlan
from billing.forms import PaymentMethodForm, PlanChangeForm
from billing.models import Trial
from billing.promotions import promotion_discounts, promotion_redeemed
from core.email import sales_email
from core.errors import ApplicationError
from core.money import cents_to_dollars, money
from core.periods import current_period
from metering.selectors import customer_usage
from pricing.display import plan_card, quote_display
from pricing.engine import (
    PricingError,
    Usage,
    quote_for_plan,
)

# --- plans, subscription, payment method, invoices -------------------------------------


def _read(selector, customer: Customer) -> tuple[Any, str | None]:
    """A billing read that may fail (Stripe down): its value, or None and the message to show."""
    try:
        return selector(customer), None
    except ApplicationError as exc:
        return None, exc.message


def _card_text(info) -> str | None:
    if info is None:
        return None
    return f"{info.brand.title()} •••• {info.last4}"


def _plan_rows(customer: Customer) -> list[dict[str, Any]]:
    current = customer.plan
    rows = []
    # A free trial is offered to a customer on a plan nobody pays for who never had one.
    trial_open = not current.is_paid and not Trial.objects.filter(customer=customer).exists()
    for plan in plan_catalogue(self_serve_only=True):
        card = plan_card(plan)
        card["current"] = plan.pk == current.pk
        card["trial"] = trial_open and bool(plan.trial_days) and plan.pk != current.pk
        if card["current"] or not current.self_serve:  # a contract plan: staff change it
            card["action"] = None
        else:
            dearer = (plan.base_fee, plan.sort_order) > (current.base_fee, current.sort_order)
            card["action"] = "Upgrade" if dearer else "Downgrade"
        rows.append(card)
    return rows


@customer_required
@require_GET
def billing_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    subscription, subscription_error = _read(selectors.customer_subscription, customer)
    invoices, invoices_error = _read(selectors.customer_invoices, customer)
    for invoice in invoices or []:
        invoice["total_display"] = money(invoice.get("total"))
        invoice["amount_due_display"] = money(invoice.get("amount_due"))
    context = {
        "customer": customer,
        "plan": customer.plan,
        "plan_card": plan_card(customer.plan),
        "subscription": subscription,
        "subscription_error": subscription_error,
        "card_on_file": _card_text(subscription.payment_method) if subscription else None,
        "invoices": invoices or [],
        "invoices_error": invoices_error,
        "plans": _plan_rows(customer),
        "payment_form": PaymentMethodForm(),
        "failure": selectors.customer_open_payment_failure(customer),
        "contract": _contract_message(customer),
        "sales_email": sales_email(),
        "credits": credits_context(customer),
    }
    return render(request, "billing/billing.html", context)


def _contract_message(customer: Customer) -> str | None:
    """Why a customer on a contract plan (not self-serve) cannot change it here, else None."""
    return None if customer.plan.self_serve else ContractPlan.for_plan(customer.plan.name).message


def _contract_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    """The plan change and cancel pages of a contract customer: the reason, no form; a post is
    refused (409) and changes nothing."""
    context = {
        "customer": customer,
        "plan": customer.plan,
        "contract": _contract_message(customer),
        "sales_email": sales_email(),
    }
    status = ContractPlan.status_code if request.method == "POST" else 200
    return render(request, "billing/contract_plan.html", context, status=status)


@customer_required
@require_POST
def payment_method(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = PaymentMethodForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the test cards.")
        return redirect("dashboard-billing")
    try:
        info = services.payment_method_set(
            customer=customer, payment_method=form.cleaned_data["payment_method"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{_card_text(info)} is now your default card.")
    return redirect("dashboard-billing")


@customer_required
@require_http_methods(["GET", "POST"])
def plan_change(request: HttpRequest, customer: Customer, slug: str) -> HttpResponse:
    plan = get_object_or_404(plan_catalogue(self_serve_only=True), slug=slug)
    if not customer.plan.self_serve:
        return _contract_page(request, customer)
    if plan.pk == customer.plan_id:
        messages.info(request, f"You are already on the {plan.name} plan.")
        return redirect("dashboard-billing")
    subscription, read_error = (None, None)
    if plan.is_paid:
        subscription, read_error = _read(selectors.customer_subscription, customer)
    card_on_file = _card_text(subscription.payment_method) if subscription else None
    form = PlanChangeForm(
        request.POST if request.method == "POST" else None, card_on_file=card_on_file
    )
    # A change between paid plans is confirmed against Stripe's preview, and applied as of the
    # moment the preview was made (billing/previews.py).
    previewed = subscription is not None and plan.is_paid
    at = None
    if previewed and request.method == "POST":
        at = previews.preview_moment(request.POST.get("preview", ""), customer=customer, plan=plan)
        if at is None:
            form.is_valid()
            form.add_error(None, "Prices are shown for a few minutes: here they are again, now.")
    status = 200
    if request.method == "POST" and (at is not None or not previewed):
        status = 400
        if form.is_valid():
            method = (form.cleaned_data["payment_method"] or None) if plan.is_paid else None
            code = form.cleaned_data["promotion_code"].strip() if plan.is_paid else ""
            try:
                promotion, discounts = promotion_discounts(code)
                state = services.subscription_change(
                    customer=customer,
                    plan=plan,
                    payment_method=method,
                    at=at,
                    usage_reported=at is not None,
                    **({"discounts": discounts} if discounts else {}),
                )
                promotion_redeemed(promotion, customer)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                if state is None or not plan.is_paid:
                    when = (
                        f" on {state.current_period_end:%B %-d, %Y}"
                        if state and state.current_period_end
                        else " at the end of the billing period"
                    )
                    messages.success(
                        request, f"Your paid subscription ends{when}; then you are on {plan.name}."
                    )
                else:
                    messages.success(request, f"You are now on the {plan.name} plan.")
                return redirect("dashboard-billing")
    period = current_period()
    used = customer_usage(
        customer_id=customer.pk, start=period.start, end=period.end, ledger_if_redis_down=True
    ).total.units
    quotes = {}
    for key, target in (("current", customer.plan), ("new", plan)):
        try:
            quotes[key] = quote_display(quote_for_plan(target, Usage(units=used)).to_dict())
        except PricingError:
            quotes[key] = None
    preview = None
    if previewed and not read_error:
        try:
            preview = previews.plan_change_preview(customer=customer, plan=plan)
        except ApplicationError as exc:
            read_error = exc.message
    context = {
        "customer": customer,
        "plan": customer.plan,
        "target": plan,
        "target_card": plan_card(plan),
        "preview": preview,
        # Stripe Checkout takes the card when there is no subscription to change, or no card.
        "checkout": plan.is_paid and (subscription is None or card_on_file is None),
        "preview_lines": [
            {"text": line.description, "amount": money(cents_to_dollars(line.amount_cents))}
            for line in (preview.lines if preview else ())
        ],
        "preview_total": money(cents_to_dollars(preview.amount_due_cents)) if preview else None,
        "form": form,
        "units_used": used,
        "quotes": quotes,
        "read_error": read_error,
        "card_on_file": card_on_file,
        "upgrade": (plan.base_fee, plan.sort_order)
        > (customer.plan.base_fee, customer.plan.sort_order),
    }
    return render(request, "billing/plan_change.html", context, status=status)


@customer_required
@require_http_methods(["GET", "POST"])
def subscription_cancel(request: HttpRequest, customer: Customer) -> HttpResponse:
    if not customer.plan.self_serve:
        return _contract_page(request, customer)
    error = None
    status = 200
    if request.method == "POST":
        try:
            state = services.subscription_cancel(customer=customer)
        except ApplicationError as exc:
            error = exc.message
            status = exc.status_code
        else:
            when = (
                f"{state.current_period_end:%B %-d, %Y}"
                if state.current_period_end
                else "the end of the billing period"
            )
            messages.success(
                request,
                f"Your {state.plan_name} subscription is cancelled. It stays active until "
                f"{when}, then you move to the Free plan.",
            )
            return redirect("dashboard-billing")
    subscription, read_error = _read(selectors.customer_subscription, customer)
    context = {
        "customer": customer,
        "plan": customer.plan,
        "subscription": subscription,
        "error": error or read_error,
    }
    return render(request, "billing/cancel.html", context, status=status)
