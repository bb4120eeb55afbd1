"""Coupons, promotion codes and the discount lines of invoices, previews and Checkout
(https://docs.stripe.com/billing/subscriptions/coupons)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

DAY = 86400
JULY_1 = 1782864000


@pytest.fixture
def plan(server: StripeServerHandle) -> dict[str, Any]:
    pro = stripe.Product.create(name="Pro")
    seats = stripe.Product.create(name="Seats")
    return {
        "pro": stripe.Price.create(
            currency="usd", product=pro.id, unit_amount=4900, recurring={"interval": "month"}
        ),
        "seats": stripe.Price.create(
            currency="usd", product=seats.id, unit_amount=1999, recurring={"interval": "month"}
        ),
        "seats_product": seats.id,
    }


def _items(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"price": plan["pro"].id}, {"price": plan["seats"].id}]


def _subscribe(customer_id: str, plan: dict[str, Any], discounts: list[dict[str, str]]) -> Any:
    return stripe.Subscription.create(
        customer=customer_id, items=_items(plan), discounts=discounts, expand=["latest_invoice"]
    )


def _line_discounts(invoice: Any) -> list[int]:
    return [sum(d.amount for d in line.discount_amounts) for line in invoice.lines.data]


def test_coupon_validation_and_lifecycle(server: StripeServerHandle) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Coupon.create(percent_off=10, amount_off=100, currency="usd")
    with pytest.raises(stripe.InvalidRequestError) as months:
        stripe.Coupon.create(percent_off=10, duration="repeating")
    assert months.value.code == "parameter_missing"
    with pytest.raises(stripe.InvalidRequestError) as currency:
        stripe.Coupon.create(amount_off=500)
    assert currency.value.param == "currency"
    coupon = stripe.Coupon.create(id="LAUNCH", percent_off=12.5, duration="forever", name="Launch")
    assert coupon.valid and coupon.times_redeemed == 0 and coupon.percent_off == 12.5
    assert stripe.Coupon.retrieve("LAUNCH").name == "Launch"
    assert stripe.Coupon.delete("LAUNCH").deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Coupon.retrieve("LAUNCH")


def test_percent_off_rounds_per_line_and_preview_equals_invoice(
    server: StripeServerHandle, customer_with_card: Any, plan: dict[str, Any]
) -> None:
    coupon = stripe.Coupon.create(percent_off=15, duration="forever")
    preview = stripe.Invoice.create_preview(
        customer=customer_with_card.id,
        subscription_details={"items": _items(plan)},
        discounts=[{"coupon": coupon.id}],
    )
    sub = _subscribe(customer_with_card.id, plan, [{"coupon": coupon.id}])
    invoice = sub.latest_invoice
    # 4900 x 15% = 735; 1999 x 15% = 299.85 -> 300 (each line rounded half up).
    assert _line_discounts(invoice) == [735, 300]
    assert invoice.subtotal == 6899 and invoice.total == 5864 and invoice.amount_paid == 5864
    (total_discount,) = invoice.total_discount_amounts
    assert total_discount.amount == 1035 and invoice.discounts == [total_discount.discount]
    assert preview.total == invoice.total and _line_discounts(preview) == _line_discounts(invoice)
    discount = stripe.Subscription.retrieve(sub.id, expand=["discounts"]).discounts[0]
    assert discount.source.coupon == coupon.id and discount.end is None
    assert stripe.Coupon.retrieve(coupon.id).times_redeemed == 1


def test_amount_off_is_shared_pro_rata(
    server: StripeServerHandle, customer_with_card: Any, plan: dict[str, Any]
) -> None:
    coupon = stripe.Coupon.create(amount_off=1000, currency="usd")
    invoice = _subscribe(customer_with_card.id, plan, [{"coupon": coupon.id}]).latest_invoice
    # 1000 x 4900/6899 = 710.25, 1000 x 1999/6899 = 289.75: largest remainder gets the cent.
    assert _line_discounts(invoice) == [710, 290] and invoice.total == 5899


def test_applies_to_limits_the_lines(
    server: StripeServerHandle, customer_with_card: Any, plan: dict[str, Any]
) -> None:
    coupon = stripe.Coupon.create(percent_off=50, applies_to={"products": [plan["seats_product"]]})
    invoice = _subscribe(customer_with_card.id, plan, [{"coupon": coupon.id}]).latest_invoice
    assert _line_discounts(invoice) == [0, 1000]  # 1999 / 2 = 999.5 -> 1000


@pytest.mark.parametrize(
    ("duration", "extra", "renewals"),
    [
        ("once", {}, [6899, 6899]),
        ("repeating", {"duration_in_months": 2}, [6209, 6899]),
        ("forever", {}, [6209, 6209]),
    ],
)
def test_durations(
    server: StripeServerHandle,
    customer_with_card: Any,
    plan: dict[str, Any],
    duration: str,
    extra: dict[str, Any],
    renewals: list[int],
) -> None:
    coupon = stripe.Coupon.create(percent_off=10, duration=duration, **extra)
    sub = _subscribe(customer_with_card.id, plan, [{"coupon": coupon.id}])
    assert sub.latest_invoice.total == 6209  # 490 + 199.9 -> 200 off
    totals = []
    for _ in renewals:
        (invoice_id,) = server.advance_period(sub.id)["invoices"]
        totals.append(stripe.Invoice.retrieve(invoice_id).total)
    assert totals == renewals


def test_promotion_codes_and_their_errors(
    server: StripeServerHandle, customer_with_card: Any, plan: dict[str, Any]
) -> None:
    coupon = stripe.Coupon.create(percent_off=20, duration="forever")
    promo = stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": coupon.id}, code="SUMMER", max_redemptions=1
    )
    assert promo.code == "SUMMER" and promo.active and promo.promotion.coupon == coupon.id
    assert stripe.PromotionCode.list(code="summer").data[0].id == promo.id
    sub = _subscribe(customer_with_card.id, plan, [{"promotion_code": promo.id}])
    assert sub.latest_invoice.total == 6899 - 980 - 400
    discount = stripe.Subscription.retrieve(sub.id, expand=["discounts"]).discounts[0]
    assert discount.promotion_code == promo.id
    assert stripe.PromotionCode.retrieve(promo.id).times_redeemed == 1

    def refused(promo_id: str, customer_id: str = customer_with_card.id) -> str:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            _subscribe(customer_id, plan, [{"promotion_code": promo_id}])
        assert excinfo.value.param == "discounts[0][promotion_code]"
        return str(excinfo.value.user_message)

    assert "maximum number of redemptions" in refused(promo.id)
    inactive = stripe.PromotionCode.create(promotion={"type": "coupon", "coupon": coupon.id})
    stripe.PromotionCode.modify(inactive.id, active=False)
    assert "inactive" in refused(inactive.id)
    expiring = stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": coupon.id}, expires_at=JUNE_1 + DAY
    )
    server.set_now(JUNE_1 + 2 * DAY)
    assert "expired" in refused(expiring.id)
    other = stripe.Customer.create()
    mine = stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": coupon.id}, customer=other.id
    )
    assert "cannot be redeemed by this customer" in refused(mine.id)
    first = stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": coupon.id},
        restrictions={"first_time_transaction": True},
    )
    assert "without prior transactions" in refused(first.id)
    minimum = stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": coupon.id},
        restrictions={"minimum_amount": 10000, "minimum_amount_currency": "usd"},
    )
    assert "at least 10000" in refused(minimum.id)
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        _subscribe(customer_with_card.id, plan, [{"promotion_code": "promo_nope"}])
    assert unknown.value.http_status == 404
    # Refused attempts redeemed nothing.
    assert stripe.Coupon.retrieve(coupon.id).times_redeemed == 1


def test_coupon_expired_or_used_up(
    server: StripeServerHandle, customer_with_card: Any, plan: dict[str, Any]
) -> None:
    dated = stripe.Coupon.create(percent_off=5, redeem_by=JUNE_1 + DAY)
    once = stripe.Coupon.create(percent_off=5, max_redemptions=1)
    _subscribe(customer_with_card.id, plan, [{"coupon": once.id}])
    assert stripe.Coupon.retrieve(once.id).valid is False
    with pytest.raises(stripe.InvalidRequestError) as used_up:
        _subscribe(customer_with_card.id, plan, [{"coupon": once.id}])
    assert used_up.value.code == "coupon_expired"
    server.set_now(JUNE_1 + 2 * DAY)
    with pytest.raises(stripe.InvalidRequestError) as expired:
        _subscribe(customer_with_card.id, plan, [{"coupon": dated.id}])
    assert expired.value.code == "coupon_expired"


def test_metered_usage_is_discounted_and_discounts_can_be_removed(
    server: StripeServerHandle, customer_with_card: Any
) -> None:
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    calls = stripe.Price.create(
        currency="usd",
        product_data={"name": "Calls"},
        unit_amount=3,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    coupon = stripe.Coupon.create(percent_off=10, duration="forever")
    sub = stripe.Subscription.create(
        customer=customer_with_card.id,
        items=[{"price": calls.id}],
        discounts=[{"coupon": coupon.id}],
    )
    stripe.billing.MeterEvent.create(
        event_name="calls", payload={"stripe_customer_id": customer_with_card.id, "value": "1000"}
    )
    (invoice_id,) = server.advance_period(sub.id)["invoices"]
    assert stripe.Invoice.retrieve(invoice_id).total == 2700
    cleared = stripe.Subscription.modify(sub.id, discounts="")
    assert cleared.discounts == []


def test_checkout_with_discounts_and_promotion_codes(
    server: StripeServerHandle, customer_with_card: Any, plan: dict[str, Any]
) -> None:
    coupon = stripe.Coupon.create(percent_off=50, duration="once")
    stripe.PromotionCode.create(promotion={"type": "coupon", "coupon": coupon.id}, code="HALF")
    with pytest.raises(stripe.InvalidRequestError):
        stripe.checkout.Session.create(
            mode="subscription",
            line_items=[{"price": plan["pro"].id, "quantity": 1}],
            success_url="http://127.0.0.1:9/ok",
            allow_promotion_codes=True,
            discounts=[{"coupon": coupon.id}],
        )
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer_with_card.id,
        line_items=[{"price": plan["pro"].id, "quantity": 1}],
        success_url="http://127.0.0.1:9/ok",
        allow_promotion_codes=True,
    )
    page = requests.post(
        session.url,
        data={"cardnumber": "4242424242424242", "promotion_code": "NOPE"},
        allow_redirects=False,
        timeout=5,
    )
    assert "This code is invalid." in page.text
    requests.post(
        session.url,
        data={"cardnumber": "4242424242424242", "promotion_code": "half"},
        allow_redirects=False,
        timeout=5,
    )
    done = stripe.checkout.Session.retrieve(session.id)
    assert done.status == "complete" and done.amount_total == 2450
    assert done.total_details.amount_discount == 2450
    assert done.discounts[0].promotion_code == stripe.PromotionCode.list(code="HALF").data[0].id
    invoice = stripe.Invoice.retrieve(done.invoice)
    assert invoice.total == 2450 and invoice.amount_paid == 2450
