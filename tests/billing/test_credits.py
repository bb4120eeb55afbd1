"""Prepaid credits against the local Stripe server: a pack bought through Checkout (payment
mode) becomes a Stripe credit grant once, however the completion arrives (redirect, signed
webhook, replays); the API and the billing page show the balance; the period close grants a
plan's monthly credit once; and an invoice applies the credits before the card, to the cent,
as the engine's estimate said."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlparse

import pytest
import stripe

from accounts.models import Plan
from billing.credits import credits_period_start, credits_summary, usage_estimate
from billing.models import CreditEntry, PeriodClose
from billing.services import subscription_change
from console.reconciliation import month_reconciliation
from core.periods import period_from_id
from metering.selectors import customer_usage
from tests.billing.test_checkout import VISA, back_path, pay
from tests.billing.test_plan_change_usage import ledger, metered_lines, usage_cents
from tests.conftest import web_client

pytestmark = pytest.mark.django_db


def stripe_grants(customer) -> list:
    customer.refresh_from_db()
    return stripe.billing.CreditGrant.list(customer=customer.stripe_customer_id).data


def test_buy_a_pack_through_the_api_and_the_webhook_alone_grants_it_once(
    owner, stripe_server, webhooks
):
    answer = owner.post("/api/v1/billing/credits", {"pack": "50"}, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["pack"] == "50" and body["amount"] == "50.00"
    assert body["checkout_url"].startswith(stripe_server.url + "/c/pay/cs_test_")
    session = stripe.checkout.Session.retrieve(body["session_id"])
    assert session.mode == "payment" and session.amount_total == 5000
    assert owner.get("/api/v1/billing/credits").json()["balance"] == "0.00"  # not paid yet

    webhooks.skip_all()
    pay(body["checkout_url"], VISA)
    delivered = webhooks.deliver("checkout.session.completed")
    assert len(delivered) == 1
    (grant,) = stripe_grants(owner.customer)
    assert grant.amount.monetary.value == 5000 and grant.category == "paid"
    assert grant.applicability_config.scope.price_type == "metered"
    # The same event again (a replay with a new id, as a retried delivery with another
    # signature would be), then the customer's redirect: nothing more is granted.
    replay = {**delivered[0], "id": "evt_replayed_credits"}
    assert webhooks.post(replay).status_code == 200
    done = web_client(owner.customer).get(
        f"/dashboard/billing/checkout/done/?session_id={session.id}"
    )
    assert done.status_code == 302
    assert len(stripe_grants(owner.customer)) == 1
    (entry,) = CreditEntry.objects.filter(customer=owner.customer)
    assert entry.amount == Decimal("50.00") and entry.stripe_credit_grant_id == grant.id

    credits = owner.get("/api/v1/billing/credits").json()
    assert credits["balance"] == "50.00" and credits["period_balance"] == "50.00"
    assert credits["grants"][0]["kind"] == "purchase"
    assert credits["grants"][0]["stripe_credit_grant_id"] == grant.id
    assert [p["pack"] for p in credits["packs"]] == ["10", "50", "200"]
    assert credits["burn_down"][-1]["balance"] == "50.00"


def test_unknown_pack_is_refused(owner, stripe_server):
    answer = owner.post("/api/v1/billing/credits", {"pack": "7"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"] == "validation_error"
    assert answer.json()["fields"]["pack"] == ["There is no credit pack '7': see `packs`."]
    number = owner.post("/api/v1/billing/credits", {"pack": 50}, format="json")
    assert number.status_code == 400 and number.json()["error"] == "validation_error"
    missing = owner.post("/api/v1/billing/credits", {}, format="json")
    assert missing.status_code == 400 and missing.json()["error"] == "validation_error"


def test_buy_from_the_billing_page(owner, owner_web, stripe_server):
    page = owner_web.get("/dashboard/billing/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="credits"' in text and "Buy $10.00" in text and "Buy $200.00" in text
    go = owner_web.post("/dashboard/billing/credits/10/")
    assert go.status_code == 303
    back = pay(go["Location"], VISA)
    assert urlparse(back).path == "/dashboard/billing/checkout/done/"
    done = owner_web.get(back_path(back), follow=True)
    assert "$10.00 of prepaid credits added" in done.content.decode()
    page = owner_web.get("/dashboard/billing/").content.decode()
    assert 'data-testid="credit-balance">$10.00<' in page
    assert "Credits bought" in page
    bad = owner_web.post("/dashboard/billing/credits/nope/", follow=True)
    assert "There is no credit pack" in bad.content.decode()


def test_monthly_credit_is_granted_once_per_period(make_customer, clock):
    clock.move_to(datetime(2027, 3, 20, 9, 0, tzinfo=UTC))
    Plan.objects.filter(slug="pro").update(monthly_credit=Decimal("5.00"))
    customer, _ = make_customer("pro")
    assert credits_period_start() == {"monthly_credits": 1}
    assert credits_period_start() == {}  # again: nothing more
    (grant,) = stripe_grants(customer)
    assert grant.category == "promotional" and grant.amount.monetary.value == 500
    clock.move_to(datetime(2027, 4, 1, 0, 2, tzinfo=UTC))
    PeriodClose.objects.create(period="202703", closed_at=datetime(2027, 4, 1, 0, 1, tzinfo=UTC))
    assert credits_period_start() == {"monthly_credits": 1, "credits_settled": 1}
    assert credits_period_start() == {}
    assert len(stripe_grants(customer)) == 2
    # March used nothing: its settlement took nothing, and April starts with $10.
    applied = CreditEntry.objects.get(customer=customer, kind="applied", period="202703")
    assert applied.amount == Decimal("0.00")
    assert credits_summary(customer).balance == Decimal("10.00")


def test_the_invoice_applies_credits_before_the_card_as_estimated(make_customer, clock, webhooks):
    """Usage reported, invoice finalised: amount due = base fee + usage − credits, to the cent,
    and the estimate (the usage API's estimated_bill) said the same."""
    clock.move_to(datetime(2027, 3, 1, tzinfo=UTC))
    customer, _ = make_customer("free")
    subscription_change(
        customer=customer, plan=Plan.objects.get(slug="pro"), payment_method="pm_card_visa"
    )
    customer.refresh_from_db()
    sub = stripe.Subscription.list(customer=customer.stripe_customer_id).data[0]
    clock.move_to(datetime(2027, 3, 5, 9, tzinfo=UTC))
    go = web_client(customer).post("/dashboard/billing/credits/10/")
    webhooks.skip_all()
    pay(go["Location"], VISA)
    webhooks.deliver("checkout.session.completed")
    ledger(customer, datetime(2027, 3, 25, 10, tzinfo=UTC), 57_345)  # 7,345 over: $7.35
    clock.move_to(datetime(2027, 3, 31, 23, 0, tzinfo=UTC))
    usage = customer_usage(
        customer_id=customer.pk,
        start=datetime(2027, 3, 1, tzinfo=UTC),
        end=datetime(2027, 4, 1, tzinfo=UTC),
    )
    estimate = usage_estimate(customer, usage)
    assert estimate["lines"][-1]["kind"] == "credits"
    assert estimate["lines"][-1]["amount"] == "-7.35"
    assert estimate["total"] == "49.00"  # the base fee only: credits paid the usage

    (invoice_id,) = clock.server.advance_period(sub.id, finalize=False)["invoices"]
    clock.move_to(datetime(2027, 4, 1, 0, 2, tzinfo=UTC))
    from billing.tasks import close_billing_periods

    close_billing_periods.apply().get()
    clock.server.advance_to(int(datetime(2027, 4, 1, 1, 0, 1, tzinfo=UTC).timestamp()))
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.status == "paid"
    assert metered_lines(invoice) == [(57_345, usage_cents("pro", 57_345))]
    usage_cents_ = usage_cents("pro", 57_345)
    assert usage_cents_ == 735
    credits = sum(c.amount for c in invoice.total_pretax_credit_amounts)
    assert credits == 735  # all the usage, not the base fee
    assert invoice.amount_due == 4900 + usage_cents_ - credits == 4900
    assert f"{Decimal(invoice.amount_due) / 100:.2f}" == estimate["total"]

    # The ledger agrees with Stripe: $10 − $7.35 left, and the period is settled.
    applied = CreditEntry.objects.get(customer=customer, kind="applied", period="202703")
    assert applied.amount == Decimal("-7.35")
    summary = stripe.billing.CreditBalanceSummary.retrieve(
        customer=customer.stripe_customer_id,
        filter={"type": "applicability_scope", "applicability_scope": {"price_type": "metered"}},
    )
    available = summary.balances[0].available_balance.monetary.value
    assert available == 265
    assert credits_summary(customer).balance == Decimal("2.65")

    # The reconciliation shows the credits granted and applied, ours against Stripe's.
    march = month_reconciliation(period_from_id("202703"))
    (row,) = [r for r in march["customers"] if r["customer_id"] == customer.pk]
    assert (row["credits_granted_cents"], row["credits_applied_cents"]) == (1000, 735)
    assert (row["stripe_credits_cents"], row["credits_drift_cents"]) == (735, 0)
    assert (march["credits_granted_cents"], march["credits_applied_cents"]) == (1000, 735)


def test_plan_cards_say_how_prepaid_plans_are_paid(owner_web, db):
    Plan.objects.filter(slug="pro").update(overage_policy="prepaid", monthly_credit=Decimal("5"))
    page = owner_web.get("/dashboard/billing/").content.decode()
    assert "Paid from prepaid credits: calls beyond them wait for more credits" in page
    assert "$5.00 of credits free every month" in page
