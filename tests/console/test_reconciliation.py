"""The ledger ↔ Stripe reconciliation: a month flushed, reported (a plan change in the middle of
it included) and invoiced shows no drift; usage that never reached Stripe is a drift, shown on
the page and emailed to staff once."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from accounts.models import Plan
from billing.periods import billing_period_close
from billing.reporting import usage_report_to_stripe
from billing.services import subscription_change
from console.models import ReconciliationAlert
from tests.billing.test_plan_change_usage import ledger, usage_cents

pytestmark = pytest.mark.django_db(transaction=True)  # staff emails leave on commit

FIELDS = {
    "customer_id",
    "ledger_units",
    "reported_units",
    "stripe_units",
    "invoiced_cents",
    "quoted_cents",
    "drift_units",
    "drift_cents",
    "credits_granted_cents",
    "credits_applied_cents",
    "stripe_credits_cents",
    "credits_drift_cents",
    "discount_cents",
}


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


def subscribe(make_customer, email: str, plan: str):
    customer, _ = make_customer("free", email)
    subscription_change(
        customer=customer, plan=Plan.objects.get(slug=plan), payment_method="pm_card_visa"
    )
    customer.refresh_from_db()
    return customer


@pytest.fixture
def march(make_customer, clock, settings):
    """Two customers through March 2027: one upgrades mid-month with usage on both sides, the
    other's last day of usage is flushed into the ledger only after the period was closed."""
    settings.ADMINS = [("ops@example.com", "ops@example.com")]
    clock.move_to(at(3, 1, 1))
    upgrader = subscribe(make_customer, "upgrader@example.com", "pro")
    late = subscribe(make_customer, "late@example.com", "pro")
    ledger(upgrader, at(3, 5, 12), 40_000)
    ledger(late, at(3, 5, 12), 52_000)
    clock.move_to(at(3, 6))
    usage_report_to_stripe()
    clock.move_to(at(3, 11, 0, 30))
    ledger(upgrader, at(3, 11, 0), 20_000)
    subscription_change(customer=upgrader, plan=Plan.objects.get(slug="business"))
    clock.move_to(at(3, 11, 0, 50))
    ledger(upgrader, at(3, 11, 0), 5_000)
    ledger(upgrader, at(3, 20, 10), 25_000)
    clock.move_to(
        at(
            3,
            31,
            23,
            59,
        )
    )
    ledger(late, at(3, 31, 23), 3_000)
    # The month ends: drafts, the close, Stripe's finalization an hour later.
    clock.server.advance_to(int(at(4, 1).timestamp()))
    clock.follow_stripe()
    clock.move_to(at(4, 1, 0, 1))
    assert billing_period_close() is not None
    clock.server.advance_to(int(at(4, 1, 1).timestamp()) + 1)
    clock.follow_stripe()
    # A flush that lagged behind the close: March usage Stripe never hears of.
    ledger(late, at(3, 31, 22), 2_000)
    clock.move_to(at(4, 2))
    return {"upgrader": upgrader, "late": late}


def test_a_month_reported_and_invoiced_has_no_drift_and_a_late_flush_does(march, admin_client):
    mail.outbox.clear()
    response = admin_client.get("/admin/reconciliation.json", {"month": "2027-03"})
    assert response.status_code == 200
    result = response.json()
    assert result["month"] == "2027-03"
    rows = {row["customer_id"]: row for row in result["customers"]}
    assert all(set(row) == FIELDS for row in rows.values())

    upgrader = rows[march["upgrader"].pk]
    # 60,000 on Pro before the change (10,000 above its included 50,000 at $0.001), 30,000 on
    # Business after it (within its 500,000): $10.00 of usage, invoiced at the change.
    assert upgrader == {
        "customer_id": march["upgrader"].pk,
        "ledger_units": 90_000,
        "reported_units": 90_000,
        "stripe_units": 90_000,
        "invoiced_cents": usage_cents("pro", 60_000) + usage_cents("business", 30_000),
        "quoted_cents": 1_000,
        "drift_units": 0,
        "drift_cents": 0,
        "credits_granted_cents": 0,
        "credits_applied_cents": 0,
        "stripe_credits_cents": 0,
        "credits_drift_cents": 0,
        "discount_cents": 0,
    }
    late = rows[march["late"].pk]
    assert (late["ledger_units"], late["reported_units"], late["stripe_units"]) == (
        57_000,
        55_000,
        55_000,
    )
    assert (late["invoiced_cents"], late["quoted_cents"]) == (500, 700)
    assert (late["drift_units"], late["drift_cents"]) == (2_000, -200)
    assert (result["drift_units"], result["drift_cents"]) == (2_000, 200)

    # Staff are emailed once for this drift, however often it is looked at.
    (email,) = mail.outbox
    assert email.to == ["ops@example.com"] and "2027-03" in email.subject
    assert "late@example.com" in email.body and "upgrader@example.com" not in email.body
    page = admin_client.get("/admin/reconciliation/", {"month": "2027-03", "refresh": "1"})
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="drift-banner"' in html
    assert f'<tr class="drift" data-customer="{march["late"].pk}">' in html
    assert f'<tr data-customer="{march["upgrader"].pk}">' in html
    assert len(mail.outbox) == 1 and ReconciliationAlert.objects.count() == 1

    # Once the late usage is reported (it lands on no March invoice, which is final), the
    # units agree and the money drift remains: a new drift, a new email.
    usage_report_to_stripe()
    out = io.StringIO()
    call_command("reconcile_stripe", month="2027-03", stdout=out, stderr=io.StringIO())
    again = {row["customer_id"]: row for row in json.loads(out.getvalue())["customers"]}
    assert again[march["late"].pk]["drift_units"] == 0
    assert again[march["late"].pk]["drift_cents"] == -200
    assert len(mail.outbox) == 2


def test_staff_only(client, owner_web, march):
    assert client.get("/admin/reconciliation.json").status_code == 302
    refused = owner_web.get("/admin/reconciliation.json")
    assert refused.status_code in (302, 403)


def test_a_bad_month_is_a_400(admin_client):
    response = admin_client.get("/admin/reconciliation.json", {"month": "March"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_parameter"


def test_a_trial_and_a_discount_are_no_drift_and_the_discount_shows(
    make_customer, clock, admin_user
):
    """A customer trialing Pro in March (its usage billed by nobody) and one paying Pro with a
    20% promotion code: no drift; the discount is on the row."""
    from decimal import Decimal

    from billing.promotions import promotion_code_sync
    from billing.trials import trial_start
    from pricing.models import PromotionCode

    clock.move_to(at(3, 1, 1))
    promo = promotion_code_sync(
        PromotionCode.objects.create(code="RECON20", percent_off=Decimal("20"), duration="forever")
    )
    trialing, _ = make_customer("free", "trial@example.com")
    trial_start(customer=trialing, plan=Plan.objects.get(slug="pro"))
    trialing.refresh_from_db()
    payer, _ = make_customer("free", "payer@example.com")
    subscription_change(
        customer=payer,
        plan=Plan.objects.get(slug="pro"),
        payment_method="pm_card_visa",
        discounts=[{"promotion_code": promo.stripe_promotion_code_id}],
    )
    payer.refresh_from_db()
    ledger(trialing, at(3, 5, 12), 70_000)
    ledger(payer, at(3, 5, 12), 60_000)
    clock.move_to(at(3, 6))
    usage_report_to_stripe()
    clock.move_to(at(3, 10))
    admin_client = Client()
    admin_client.force_login(admin_user)  # logged in under the moved clock
    rows = {
        row["customer_id"]: row
        for row in admin_client.get("/admin/reconciliation.json", {"month": "2027-03"}).json()[
            "customers"
        ]
    }
    trial_row, payer_row = rows[trialing.pk], rows[payer.pk]
    assert trial_row["stripe_units"] == 70_000
    assert (trial_row["invoiced_cents"], trial_row["quoted_cents"]) == (0, 0)
    assert (trial_row["drift_units"], trial_row["drift_cents"]) == (0, 0)
    assert (payer_row["invoiced_cents"], payer_row["quoted_cents"]) == (1_000, 1_000)
    assert payer_row["drift_cents"] == 0
    # The upcoming invoice: 20% of April's $49.00 and of March's $10.00 of usage.
    assert payer_row["discount_cents"] == 980 + 200
    page = admin_client.get("/admin/reconciliation/", {"month": "2027-03", "refresh": "1"})
    assert "−$11.80" in page.content.decode()
