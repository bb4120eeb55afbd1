"""Dunning: what happens when a payment fails.

`invoice.payment_failed` records the failure (once per invoice) and emails the customer. Then the
hourly `dunning` task retries the invoice on days 1, 3 and 5 and sends reminders; if the invoice is
still unpaid when the 7-day grace period ends, the subscription is cancelled and the customer moves
to Free. `invoice.payment_succeeded` (or a successful retry) clears it at any point.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Customer
from accounts.selectors import default_plan
from accounts.services import customer_change_plan
from billing.errors import CardDeclined
from billing.models import PaymentFailure
from billing.stripe_api import stripe_call

logger = logging.getLogger(__name__)

GRACE_PERIOD = timedelta(days=7)
RETRY_DAYS = (1, 3, 5)  # days after the first failure on which we retry the invoice


def _email(customer: Customer, template: str, context: dict) -> None:
    context = {"customer": customer, "site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    body = render_to_string(f"emails/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [customer.email])


def _amount(failure: PaymentFailure) -> str:
    return f"${failure.amount_due / 100:,.2f}"


def payment_failure_record(*, customer: Customer, invoice_id: str) -> PaymentFailure | None:
    """Record a failed invoice payment (idempotent per invoice) and tell the customer."""
    invoice = stripe_call(stripe.Invoice.retrieve, invoice_id)
    if invoice["status"] == "paid":
        return None  # a late or replayed event: it has been paid since
    now = timezone.now()
    try:
        with transaction.atomic():
            failure = PaymentFailure.objects.create(
                customer=customer,
                stripe_invoice_id=invoice_id,
                amount_due=invoice.get("amount_due") or 0,
                currency=invoice.get("currency") or "usd",
                attempt_count=invoice.get("attempt_count") or 1,
                first_failed_at=now,
                last_failed_at=now,
                grace_ends_at=now + GRACE_PERIOD,
                notices_sent=1,
                last_notice_at=now,
            )
    except IntegrityError:  # the same failure delivered again: update, do not re-notify
        PaymentFailure.objects.filter(stripe_invoice_id=invoice_id).update(
            last_failed_at=now, attempt_count=max(invoice.get("attempt_count") or 1, 1)
        )
        return PaymentFailure.objects.get(stripe_invoice_id=invoice_id)
    transaction.on_commit(
        lambda: _email(
            customer,
            "payment_failed",
            {
                "failure": failure,
                "amount": _amount(failure),
                "grace_ends_at": failure.grace_ends_at,
            },
        )
    )
    return failure


def payment_failure_resolve(*, invoice_id: str) -> int:
    """The invoice was paid: close its failure (idempotent). Returns how many were open."""
    failures = list(
        PaymentFailure.objects.filter(
            stripe_invoice_id=invoice_id, resolved_at__isnull=True, downgraded_at__isnull=True
        ).select_related("customer")
    )
    resolved = PaymentFailure.objects.filter(
        pk__in=[f.pk for f in failures], resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    if resolved:
        for failure in failures:
            transaction.on_commit(
                lambda f=failure: _email(
                    f.customer, "payment_received", {"failure": f, "amount": _amount(f)}
                )
            )
    return resolved


def payment_failure_extend_grace(*, failure: PaymentFailure, days: int) -> PaymentFailure:
    """Staff action: give a customer more time before the downgrade."""
    if not 1 <= days <= 60:
        raise ValueError("extend by 1 to 60 days")
    failure.grace_ends_at = max(failure.grace_ends_at, timezone.now()) + timedelta(days=days)
    failure.save(update_fields=["grace_ends_at"])
    return failure


@dataclass
class DunningResult:
    retried: int = 0
    recovered: int = 0
    reminded: int = 0
    downgraded: int = 0


def _retry_due(failure: PaymentFailure, now: datetime) -> bool:
    days = (now - failure.first_failed_at).days
    done = failure.attempt_count - 1  # attempts beyond Stripe's first one are our retries
    return any(days >= day for day in RETRY_DAYS[done : done + 1])


def _downgrade(failure: PaymentFailure, invoice: dict, result: DunningResult) -> None:
    subscription_id = ((invoice.get("parent") or {}).get("subscription_details") or {}).get(
        "subscription"
    )
    if subscription_id:
        try:
            stripe_call(stripe.Subscription.cancel, subscription_id)
        except Exception:
            logger.exception("dunning: could not cancel %s", subscription_id)
            raise
    customer_change_plan(customer=failure.customer, plan=default_plan(), reason="dunning")
    PaymentFailure.objects.filter(pk=failure.pk).update(downgraded_at=timezone.now())
    result.downgraded += 1
    transaction.on_commit(
        lambda: _email(
            failure.customer, "downgraded", {"failure": failure, "amount": _amount(failure)}
        )
    )


def dunning_run(*, now: datetime | None = None) -> DunningResult:
    """One pass over open payment failures: retry, remind, or downgrade after the grace period."""
    now = now or timezone.now()
    result = DunningResult()
    open_ids = list(
        PaymentFailure.objects.filter(
            resolved_at__isnull=True, downgraded_at__isnull=True
        ).values_list("pk", flat=True)
    )
    for pk in open_ids:
        with transaction.atomic():
            # One worker per failure at a time; others skip it this pass.
            failure = (
                PaymentFailure.objects.select_for_update(skip_locked=True)
                .select_related("customer")
                .filter(pk=pk, resolved_at__isnull=True, downgraded_at__isnull=True)
                .first()
            )
            if failure is None:
                continue
            invoice = stripe_call(stripe.Invoice.retrieve, failure.stripe_invoice_id)
            if invoice["status"] == "paid":
                payment_failure_resolve(invoice_id=failure.stripe_invoice_id)
                result.recovered += 1
                continue
            if now >= failure.grace_ends_at or invoice["status"] in ("void", "uncollectible"):
                _downgrade(failure, invoice, result)
                continue
            if _retry_due(failure, now):
                result.retried += 1
                failure.attempt_count += 1
                failure.last_failed_at = now
                failure.save(update_fields=["attempt_count", "last_failed_at"])
                try:
                    stripe_call(stripe.Invoice.pay, failure.stripe_invoice_id)
                except CardDeclined:
                    pass
                else:
                    payment_failure_resolve(invoice_id=failure.stripe_invoice_id)
                    result.recovered += 1
                    continue
                failure.notices_sent += 1
                failure.last_notice_at = now
                failure.save(update_fields=["notices_sent", "last_notice_at"])
                result.reminded += 1
                transaction.on_commit(
                    lambda f=failure: _email(
                        f.customer,
                        "payment_reminder",
                        {"failure": f, "amount": _amount(f), "grace_ends_at": f.grace_ends_at},
                    )
                )
    return result
