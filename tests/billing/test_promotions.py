"""Promotion codes against the local Stripe server: staff create them in the admin (a Stripe
Coupon and PromotionCode behind each), the quote prices them, a subscription redeems them, and
the invoice equals the quote to the cent; expired, used-up and unknown codes are refused with
`promotion_code_invalid`, saying which."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import stripe
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Plan
from billing.promotions import promotion_code_sync
from billing.reporting import usage_report_to_stripe
from pricing.models import PromotionCode
from tests.billing.test_plan_change_usage import ledger

SUBSCRIBE = "/api/v1/billing/subscribe"
QUOTE = "/api/v1/pricing/quote"
START = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db
# The admin page's inline of redemptions (read-only): its management form.
INLINE = {"redemptions-TOTAL_FORMS": "0", "redemptions-INITIAL_FORMS": "0"}


def promotion(code: str, **terms) -> PromotionCode:
    terms.setdefault("duration", "forever")
    return promotion_code_sync(PromotionCode.objects.create(code=code, **terms))


def quote(client, calls: int, code: str | None = None):
    params = {"plan": "pro", "calls": calls}
    if code:
        params["promotion_code"] = code
    return client.get(QUOTE, params)


def test_staff_create_a_promotion_code_in_the_admin(stripe_server):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x-Long-pass-42")
    client = Client()
    client.force_login(user)
    form = {
        "code": "SPRING20",
        "percent_off": "20",
        "duration": "repeating",
        "duration_in_months": "3",
        "max_redemptions": "100",
        "active": "on",
        **INLINE,
    }
    response = client.post("/admin/pricing/promotioncode/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    promo = PromotionCode.objects.get(code="SPRING20")
    coupon = stripe.Coupon.retrieve(promo.stripe_coupon_id)
    assert coupon.percent_off == 20 and coupon.duration == "repeating"
    assert coupon.duration_in_months == 3
    stripe_promo = stripe.PromotionCode.retrieve(promo.stripe_promotion_code_id)
    assert stripe_promo.code == "SPRING20" and stripe_promo.max_redemptions == 100
    # Both kinds of discount at once, or neither, is refused.
    bad = client.post("/admin/pricing/promotioncode/add/", {**form, "code": "X", "amount_off": "5"})
    assert bad.status_code == 200 and PromotionCode.objects.count() == 1
    # Switched off in the admin: off in Stripe too.
    change = f"/admin/pricing/promotioncode/{promo.pk}/change/"
    assert client.get(change).status_code == 200
    assert client.post(change, INLINE).status_code == 302
    assert stripe.PromotionCode.retrieve(promo.stripe_promotion_code_id).active is False


def test_the_quote_shows_the_discount_line(client, stripe_server):
    promotion("TAKE15", percent_off=Decimal("15"))
    body = quote(client, 128_001, "take15").json()  # any case
    assert body["total"] == "107.95"
    assert body["lines"][-1] == {
        "description": "Promotion code TAKE15: 15% off every month",
        "quantity": 1,
        "unit_price": None,
        "amount": "-19.05",  # 15% of $49.00 and of $78.00, each rounded
        "kind": "discount",
    }
    assert body["discount"]["description"] == "15% off every month"
    assert body["trial_days"] == 14
    assert quote(client, 128_001).json()["discount"] is None


@pytest.mark.parametrize(
    ("terms", "calls"),
    [
        ({"percent_off": Decimal("12.5")}, 128_005),
        ({"percent_off": Decimal("33.33")}, 50_000),
        (
            {"amount_off": Decimal("10.00"), "duration": "repeating", "duration_in_months": 3},
            91_234,
        ),
        ({"amount_off": Decimal("200.00")}, 60_000),  # more than the bill: it stops at $0
    ],
)
def test_the_invoice_equals_the_quote_to_the_cent(owner, client, clock, terms, calls):
    clock.move_to(START)
    promotion("PARITY", **terms)
    response = owner.post(
        SUBSCRIBE,
        {"plan": "pro", "payment_method": "pm_card_visa", "promotion_code": "PARITY"},
        format="json",
    )
    assert response.status_code == 200, response.content
    sub_id = response.json()["subscription"]["subscription_id"]
    assert PromotionCode.objects.get(code="PARITY").times_redeemed == 1
    ledger(owner.customer, datetime(2027, 3, 20, 10, tzinfo=UTC), calls)
    clock.move_to(datetime(2027, 3, 20, 13, tzinfo=UTC))
    assert usage_report_to_stripe().failed == 0
    expected = quote(client, calls, "PARITY").json()

    # March's usage and April's base fee: the invoice of the month the quote prices.
    (invoice_id,) = clock.server.advance_period(sub_id)["invoices"]
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.status == "paid"
    off = sum(d.amount for d in invoice.total_discount_amounts)
    assert Decimal(invoice.total) / 100 == Decimal(expected["total"]), (expected, invoice)
    assert Decimal(-off) / 100 == Decimal(expected["lines"][-1]["amount"])


def test_unknown_expired_and_used_up_codes_are_refused(owner, stranger, client, clock):
    clock.move_to(START)
    promotion("SOON", percent_off=Decimal("10"), expires_at=START + timedelta(days=1))
    promotion("ONCE", amount_off=Decimal("5"), max_redemptions=1)

    def refused(response, words):
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["error"] == "promotion_code_invalid" and body["param"] == "promotion_code"
        assert words in body["message"]

    def subscribe(api, code):
        body = {"plan": "pro", "payment_method": "pm_card_visa", "promotion_code": code}
        return api.post(SUBSCRIBE, body, format="json")

    refused(quote(client, 0, "NOPE"), "no promotion code")
    refused(subscribe(owner, "NOPE"), "no promotion code")
    refused(quote(client, 0, "bad code!"), "no promotion code")

    clock.move_to(START + timedelta(days=2))
    refused(quote(client, 0, "SOON"), "has expired")
    refused(subscribe(owner, "SOON"), "has expired")

    assert subscribe(stranger, "ONCE").status_code == 200
    refused(quote(client, 0, "ONCE"), "used up")
    refused(subscribe(owner, "ONCE"), "used up")
    # Our count lagging behind Stripe's: Stripe refuses the redemption, the same 400.
    PromotionCode.objects.filter(code="ONCE").update(times_redeemed=0)
    refused(subscribe(owner, "ONCE"), "maximum number of redemptions")
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "free"

    PromotionCode.objects.filter(code="SOON").update(active=False)
    refused(quote(client, 0, "SOON"), "not active")


def test_a_code_with_a_trial(owner, stripe_server):
    promotion("TRIAL50", percent_off=Decimal("50"), duration="once")
    response = owner.post(
        SUBSCRIBE, {"plan": "pro", "trial": True, "promotion_code": "TRIAL50"}, format="json"
    )
    assert response.status_code == 200, response.content
    sub = stripe.Subscription.retrieve(response.json()["subscription"]["subscription_id"])
    assert sub.status == "trialing" and len(sub.discounts) == 1
    free = owner.post(SUBSCRIBE, {"plan": "free", "promotion_code": "TRIAL50"}, format="json")
    assert free.status_code == 400 and free.json()["error"] == "promotion_code_invalid"
    assert Plan.objects.get(slug="pro").trial_days == 14


def test_the_usage_estimate_prices_the_discount_while_it_lasts(owner, client, clock):
    clock.move_to(START)
    promotion("THREE", percent_off=Decimal("20"), duration="repeating", duration_in_months=3)
    response = owner.post(
        SUBSCRIBE,
        {"plan": "pro", "payment_method": "pm_card_visa", "promotion_code": "THREE"},
        format="json",
    )
    assert response.status_code == 200, response.content
    ledger(owner.customer, datetime(2027, 3, 12, 10, tzinfo=UTC), 128_000)
    bill = owner.get("/api/v1/usage").json()["estimated_bill"]
    quoted = quote(client, 128_000, "THREE").json()
    assert bill["lines"] == quoted["lines"] and bill["total"] == quoted["total"] == "101.60"
    # Three months on (June 10): the June 30 invoice is past the discount's end.
    clock.move_to(datetime(2027, 6, 12, 9, tzinfo=UTC))
    ledger(owner.customer, datetime(2027, 6, 12, 8, tzinfo=UTC), 128_000)
    bill = owner.get("/api/v1/usage").json()["estimated_bill"]
    assert bill["total"] == "127.00" and bill["lines"][-1]["kind"] == "usage"
