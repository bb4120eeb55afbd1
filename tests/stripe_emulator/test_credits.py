"""Billing credits (credit grants, balance summary and transactions) applied to metered usage
on invoices, and the customer balance applied to invoice totals
(https://docs.stripe.com/billing/subscriptions/usage-based/billing-credits,
https://docs.stripe.com/billing/customer/balance)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

DAY = 86400
JULY_1 = 1782864000


@pytest.fixture
def usage_sub(server: StripeServerHandle, customer_with_card: Any) -> dict[str, Any]:
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    calls = stripe.Price.create(
        currency="usd",
        product_data={"name": "Calls"},
        unit_amount=3,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    base = stripe.Price.create(
        currency="usd",
        product_data={"name": "Base"},
        unit_amount=4900,
        recurring={"interval": "month"},
    )
    sub = stripe.Subscription.create(
        customer=customer_with_card.id, items=[{"price": base.id}, {"price": calls.id}]
    )
    return {"sub": sub, "calls": calls, "base": base, "customer": customer_with_card.id}


def _grant(customer_id: str, value: int, **extra: Any) -> stripe.billing.CreditGrant:
    extra.setdefault("applicability_config", {"scope": {"price_type": "metered"}})
    return stripe.billing.CreditGrant.create(
        customer=customer_id,
        amount={"type": "monetary", "monetary": {"currency": "usd", "value": value}},
        category=extra.pop("category", "promotional"),
        **extra,
    )


def _use(customer_id: str, calls: int) -> None:
    stripe.billing.MeterEvent.create(
        event_name="calls", payload={"stripe_customer_id": customer_id, "value": str(calls)}
    )


def _available(customer_id: str) -> int:
    summary = stripe.billing.CreditBalanceSummary.retrieve(
        customer=customer_id,
        filter={"type": "applicability_scope", "applicability_scope": {"price_type": "metered"}},
    )
    return sum(b.available_balance.monetary.value for b in summary.balances)


def _credits(invoice: Any) -> int:
    return sum(
        c.amount
        for c in invoice.total_pretax_credit_amounts
        if c.type == "credit_balance_transaction"
    )


def test_grant_pays_metered_usage_only_and_preview_matches(
    server: StripeServerHandle, usage_sub: dict[str, Any]
) -> None:
    customer = usage_sub["customer"]
    grant = _grant(customer, 1000, name="Welcome credit")
    assert (
        grant.id.startswith("credgr_") and grant.priority == 50 and grant.category == "promotional"
    )
    assert _available(customer) == 1000
    _use(customer, 500)  # 1,500 cents of calls
    preview = stripe.Invoice.create_preview(subscription=usage_sub["sub"].id)
    (invoice_id,) = server.advance_period(usage_sub["sub"].id)["invoices"]
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.subtotal == 4900 + 1500 and invoice.total == 5400 and invoice.amount_paid == 5400
    assert preview.total == invoice.total and _credits(preview) == _credits(invoice) == 1000
    usage_line = next(
        line
        for line in invoice.lines.data
        if line.pricing.price_details.price == usage_sub["calls"].id
    )
    (credit,) = usage_line.pretax_credit_amounts
    assert credit.amount == 1000 and credit.credit_balance_transaction.startswith("cbtxn_")
    base_line = next(
        line
        for line in invoice.lines.data
        if line.pricing.price_details.price == usage_sub["base"].id
    )
    assert base_line.pretax_credit_amounts == []
    assert _available(customer) == 0
    transactions = stripe.billing.CreditBalanceTransaction.list(customer=customer).data
    assert sorted(t.type for t in transactions) == ["credit", "debit"]
    debit = next(t for t in transactions if t.type == "debit")
    assert debit.debit.amount.monetary.value == 1000
    assert debit.debit.credits_applied.invoice == invoice_id
    assert debit.id == credit.credit_balance_transaction


def test_priority_then_expiry_and_the_rest_carries_over(
    server: StripeServerHandle, usage_sub: dict[str, Any]
) -> None:
    customer = usage_sub["customer"]
    first = _grant(customer, 300, priority=10, category="paid")
    second = _grant(customer, 1000, priority=50)
    _use(customer, 333)  # 999 cents
    server.advance_period(usage_sub["sub"].id)
    left = {
        g.id: stripe.billing.CreditBalanceSummary.retrieve(
            customer=customer, filter={"type": "credit_grant", "credit_grant": g.id}
        ).balances
        for g in (first, second)
    }
    assert left[first.id] == []  # used up
    assert left[second.id][0].available_balance.monetary.value == 301
    # The rest pays next month's usage.
    server.set_now(JULY_1 + 2 * DAY)
    _use(customer, 200)  # 600 cents
    (invoice_id,) = server.advance_period(usage_sub["sub"].id)["invoices"]
    assert _credits(stripe.Invoice.retrieve(invoice_id)) == 301


def test_expired_voided_and_out_of_scope_grants_do_not_apply(
    server: StripeServerHandle, usage_sub: dict[str, Any]
) -> None:
    customer = usage_sub["customer"]
    other_meter = stripe.billing.Meter.create(
        display_name="Other", event_name="other", default_aggregation={"formula": "sum"}
    )
    other = stripe.Price.create(
        currency="usd",
        product_data={"name": "Other"},
        unit_amount=1,
        recurring={"interval": "month", "usage_type": "metered", "meter": other_meter.id},
    )
    _grant(customer, 500, expires_at=JUNE_1 + 10 * DAY)
    _grant(customer, 500, applicability_config={"scope": {"prices": [{"id": other.id}]}})
    unused = _grant(customer, 500)
    voided = stripe.billing.CreditGrant.void_grant(unused.id)
    assert voided.voided_at == JUNE_1
    _use(customer, 100)
    (invoice_id,) = server.advance_period(usage_sub["sub"].id)["invoices"]
    assert _credits(stripe.Invoice.retrieve(invoice_id)) == 0
    with pytest.raises(stripe.InvalidRequestError):
        _grant(
            customer,
            100,
            applicability_config={"scope": {"prices": [{"id": usage_sub["base"].id}]}},
        )


def test_discount_first_then_credits(server: StripeServerHandle, usage_sub: dict[str, Any]) -> None:
    customer = usage_sub["customer"]
    coupon = stripe.Coupon.create(percent_off=10, duration="forever")
    stripe.Subscription.modify(usage_sub["sub"].id, discounts=[{"coupon": coupon.id}])
    _grant(customer, 5000)
    _use(customer, 500)  # 1500, less 10% = 1350 left for the credit
    (invoice_id,) = server.advance_period(usage_sub["sub"].id)["invoices"]
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert _credits(invoice) == 1350 and invoice.total == 4900 - 490 + 0
    assert {c.type for c in invoice.total_pretax_credit_amounts} == {
        "discount",
        "credit_balance_transaction",
    }
    assert _available(customer) == 5000 - 1350


def test_expire_a_grant(server: StripeServerHandle, usage_sub: dict[str, Any]) -> None:
    grant = _grant(usage_sub["customer"], 700)
    server.set_now(JUNE_1 + DAY)
    expired = stripe.billing.CreditGrant.expire(grant.id)
    assert expired.expires_at == JUNE_1 + DAY and _available(usage_sub["customer"]) == 0
    with pytest.raises(stripe.InvalidRequestError):
        stripe.billing.CreditGrant.expire(grant.id)


@pytest.mark.parametrize(("credit", "due", "ending"), [(-2000, 2900, 0), (-6000, 0, -1100)])
def test_customer_balance_applies_to_the_total(
    server: StripeServerHandle, customer_with_card: Any, credit: int, due: int, ending: int
) -> None:
    customer = customer_with_card.id
    transaction = stripe.Customer.create_balance_transaction(
        customer, amount=credit, currency="usd", description="Prepaid pack"
    )
    assert transaction.type == "adjustment" and transaction.ending_balance == credit
    assert stripe.Customer.retrieve(customer).balance == credit
    price = stripe.Price.create(
        currency="usd",
        product_data={"name": "Pro"},
        unit_amount=4900,
        recurring={"interval": "month"},
    )
    sub = stripe.Subscription.create(
        customer=customer, items=[{"price": price.id}], expand=["latest_invoice"]
    )
    invoice = sub.latest_invoice
    assert invoice.total == 4900 and invoice.amount_due == due
    assert invoice.starting_balance == credit and invoice.ending_balance == ending
    assert stripe.Customer.retrieve(customer).balance == ending
    listed = stripe.Customer.list_balance_transactions(customer).data
    assert [(t.type, t.amount) for t in listed] == [
        ("applied_to_invoice", ending - credit),
        ("adjustment", credit),
    ]
    assert listed[0].invoice == invoice.id
