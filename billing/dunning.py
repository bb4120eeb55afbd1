"""Dunning: what happens when a payment fails.

`invoice.payment_failed` records the failure (once per invoice, and only if Stripe, re-read, still
has the invoice open and unpaid) and emails the customer. Then the hourly `dunning` task retries
the invoice on days 1, 3 and 5 and sends reminders; if the invoice is still unpaid when the 7-day
grace period ends, the subscription is cancelled and the customer moves to Free. `invoice.paid` /
`invoice.payment_succeeded` (once Stripe, re-read, says the invoice is paid) or a successful retry
clears it at any point; so do `invoice.voided` and `invoice.marked_uncollectible` (support forgave
or wrote off the invoice: the subscription and the plan stay).

Our schedule counts our own retries (`PaymentFailure.retries`), never Stripe's `attempt_count`,
which Stripe's own automatic retries (when the account turns them on) also raise. While Stripe
has a retry planned (`next_payment_attempt`), we leave the charging to it and only remind.

Who emails the customer (docs/operations.md, "Who emails what"): we send the dunning emails
(payment failed, once per invoice; a reminder after each of our scheduled retries; the move to
Free); Stripe sends receipts and invoices, so we send no "payment received" email of our own.
A contract customer (a plan that is not self-serve) is never moved to Free by dunning: a
leftover subscription of theirs is cancelled and staff are told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer
from accounts.selectors import default_plan
from accounts.services import customer_change_plan
from billing.errors import CardDeclined
from billing.models import PaymentFailure
from billing.services import customer_for_stripe_id
from billing.stripe_api import stripe_call, stripe_retrieve
from core.email import email_send
from core.events import domain_event_emit
from core.money import cents_to_dollars, money

logger = logging.getLogger(__name__)

GRACE_PERIOD = timedelta(days=7)
RETRY_DAYS = (1, 3, 5)  # days after the first failure on which we retry the invoice


def _email(customer: Customer, template: str, context: dict) -> None:
    context = {"customer": customer, "site_url": settings.SITE_URL, **context}
    email_send(to=customer.email, template=f"billing/emails/{template}", context=context)


def _amount(failure: PaymentFailure) -> str:
    return money(cents_to_dollars(failure.amount_due))


def _invoice_under_customer_lock(invoice_id: str) -> tuple[Customer | None, Any]:
    """Read the invoice from Stripe to learn whose it is, lock that customer's row, then read it
    again: what the caller acts on is Stripe's state once every earlier webhook about the same
    customer has committed. Call inside a transaction."""
    invoice = stripe_call(stripe.Invoice.retrieve, invoice_id)
    customer = customer_for_stripe_id(invoice.customer, lock=True)
    if customer is None:
        return None, invoice
    return customer, stripe_call(stripe.Invoice.retrieve, invoice_id)


def _invoice_event_emit(customer: Customer, event_type: str, source: str, invoice: Any) -> None:
    """Tell the customer's systems (core.events → outbound webhooks). The id is derived from
    `source`, so a replayed Stripe event emits the same event again, which is kept once."""
    fields = (
        "number",
        "status",
        "currency",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "attempt_count",
        "hosted_invoice_url",
    )
    # stripe-python's own API: attributes (a field the invoice lacks reads as None).
    data = {"invoice": invoice.id, **{name: getattr(invoice, name, None) for name in fields}}
    domain_event_emit(customer_id=customer.pk, event_type=event_type, source=source, data=data)


@transaction.atomic
def payment_failure_record(
    *, invoice_id: str, source_event_id: str | None = None
) -> PaymentFailure | None:
    """`invoice.payment_failed`: re-read the invoice from Stripe and, only if it is still open
    and unpaid, record the failure (once per invoice) and tell the customer. A late, stale or
    replayed event about an invoice since paid, voided or written off records nothing.
    `source_event_id` (the Stripe event's id) names the failure for the customer's webhook."""
    customer, invoice = _invoice_under_customer_lock(invoice_id)
    if customer is None:
        return None
    if invoice.status != "open" or invoice.amount_remaining <= 0:
        logger.info("invoice %s is %s: no payment failure recorded", invoice_id, invoice.status)
        return None
    now = timezone.now()
    attempts = max(invoice.attempt_count, 1)
    source = source_event_id or f"{invoice_id}:attempt:{attempts}"
    _invoice_event_emit(customer, "invoice.payment_failed", source, invoice)
    try:
        with transaction.atomic():
            failure = PaymentFailure.objects.create(
                customer=customer,
                stripe_invoice_id=invoice_id,
                amount_due=invoice.amount_due,
                currency=invoice.currency,
                attempt_count=attempts,
                first_failed_at=now,
                last_failed_at=now,
                grace_ends_at=now + GRACE_PERIOD,
                notices_sent=1,
                last_notice_at=now,
            )
    except IntegrityError:  # delivered again, or Stripe's own retry failed: no new notice
        PaymentFailure.objects.filter(stripe_invoice_id=invoice_id).update(
            last_failed_at=now, attempt_count=attempts
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


@transaction.atomic
def payment_failure_resolve_if_paid(*, invoice_id: str) -> int:
    """`invoice.paid` / `invoice.payment_succeeded`: re-read the invoice from Stripe and close
    its payment failure only if Stripe says it is paid. Returns how many were open. The
    customer's `invoice.paid` webhook is named by the invoice (it is paid once), so both Stripe
    events, and their replays, make one."""
    customer, invoice = _invoice_under_customer_lock(invoice_id)
    if customer is None:
        return 0
    if invoice.status != "paid":
        logger.warning("invoice %s is %s, not paid: failure left open", invoice_id, invoice.status)
        return 0
    _invoice_event_emit(customer, "invoice.paid", invoice_id, invoice)
    return payment_failure_resolve(invoice_id=invoice_id)


@transaction.atomic
def payment_failure_forgive(*, invoice_id: str) -> int:
    """`invoice.voided` / `invoice.marked_uncollectible`: support forgave the invoice, or wrote
    it off. Re-read from Stripe; if it is void or uncollectible, close its failure with that
    resolution. The subscription is not cancelled and the plan stays (Stripe makes a past_due
    subscription left with no open invoice active again). Returns how many were open."""
    customer, invoice = _invoice_under_customer_lock(invoice_id)
    if customer is None or invoice.status not in ("void", "uncollectible"):
        return 0
    return payment_failure_resolve(invoice_id=invoice_id, resolution=invoice.status)


def payment_failure_resolve(*, invoice_id: str, resolution: str = "paid") -> int:
    """Close the invoice's open failure (idempotent): paid, void or uncollectible. No email:
    Stripe's receipt tells the customer of a payment. Returns how many were open."""
    return PaymentFailure.objects.filter(
        stripe_invoice_id=invoice_id, resolved_at__isnull=True, downgraded_at__isnull=True
    ).update(resolved_at=timezone.now(), resolution=resolution)


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
    forgiven: int = 0
    errors: int = 0


def _retry_due(failure: PaymentFailure, now: datetime) -> bool:
    days = (now - failure.first_failed_at).days
    done = failure.retries  # ours only: Stripe's automatic retries do not move our schedule
    return any(days >= day for day in RETRY_DAYS[done : done + 1])


def _subscription_id(invoice: Any) -> str | None:
    parent = invoice.parent
    details = parent.subscription_details if parent else None
    return details.subscription if details else None


def _subscription_end(subscription_id: str) -> None:
    """Cancel the subscription, unless it has already ended (cancelled by the customer, by
    Stripe when its own retries ran out, or deleted): then there is nothing to do."""
    subscription = stripe_retrieve(stripe.Subscription.retrieve, subscription_id)
    if subscription is None or subscription.status in ("canceled", "incomplete_expired"):
        logger.info("dunning: subscription %s has already ended", subscription_id)
        return
    stripe_call(stripe.Subscription.cancel, subscription_id)


def _downgrade(failure: PaymentFailure, invoice: Any, result: DunningResult) -> None:
    subscription_id = _subscription_id(invoice)
    if subscription_id:
        _subscription_end(subscription_id)
    customer = Customer.objects.select_related("plan").get(pk=failure.customer_id)
    if not customer.plan.self_serve:
        # A contract customer's leftover subscription: ended, and the contract plan kept.
        PaymentFailure.objects.filter(pk=failure.pk).update(
            resolved_at=timezone.now(), resolution="subscription_ended"
        )
        logger.warning(
            "dunning: %s is on the contract plan %s; its unpaid subscription %s was cancelled "
            "and the plan kept",
            customer,
            customer.plan.slug,
            subscription_id,
        )
        return
    customer_change_plan(customer=customer, plan=default_plan(), reason="dunning")
    PaymentFailure.objects.filter(pk=failure.pk).update(downgraded_at=timezone.now())
    result.downgraded += 1
    transaction.on_commit(
        lambda: _email(customer, "downgraded", {"failure": failure, "amount": _amount(failure)})
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
        # One failure's trouble (Stripe refusing a call, a customer gone) is logged and counted;
        # it never stops the others, which would otherwise be skipped every hour.
        try:
            with transaction.atomic():
                _dunning_step(pk, now, result)
        except Exception:
            result.errors += 1
            logger.exception("dunning: payment failure %s could not be processed", pk)
    return result


def _dunning_step(pk: int, now: datetime, result: DunningResult) -> None:
    # One worker per failure at a time; others skip it this pass. The join makes FOR UPDATE
    # lock the customer's row too, which webhooks about the customer lock first: a failure
    # whose customer a webhook is handling is skipped, never deadlocked.
    failure = (
        PaymentFailure.objects.select_for_update(skip_locked=True)
        .select_related("customer")
        .filter(pk=pk, resolved_at__isnull=True, downgraded_at__isnull=True)
        .first()
    )
    if failure is None:
        return
    invoice = stripe_call(stripe.Invoice.retrieve, failure.stripe_invoice_id)
    if invoice.status == "paid":
        payment_failure_resolve(invoice_id=failure.stripe_invoice_id)
        result.recovered += 1
        return
    if invoice.status in ("void", "uncollectible"):  # forgiven or written off: nothing to chase
        payment_failure_resolve(invoice_id=failure.stripe_invoice_id, resolution=invoice.status)
        result.forgiven += 1
        return
    if now >= failure.grace_ends_at:
        _downgrade(failure, invoice, result)
        return
    if not _retry_due(failure, now):
        return
    failure.retries += 1
    failure.last_failed_at = now
    failure.save(update_fields=["retries", "last_failed_at"])
    if invoice.next_payment_attempt is None:  # Stripe plans no retry of its own: we charge
        result.retried += 1
        try:
            stripe_call(stripe.Invoice.pay, failure.stripe_invoice_id)
        except CardDeclined:
            pass
        else:
            payment_failure_resolve(invoice_id=failure.stripe_invoice_id)
            result.recovered += 1
            return
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
