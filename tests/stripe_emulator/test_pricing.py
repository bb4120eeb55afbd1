"""Amount math: per-unit decimals, graduated and volume tiers, transform_quantity, rounding,
and the same maths end to end through invoice previews."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import stripe

from stripe_emulator.invoicing import (
    anchor_from_config,
    boundary,
    line_amount,
    next_boundary_after,
    proration_fraction,
    transformed_quantity,
)
from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

GRADUATED = [
    {"up_to": 100_000, "unit_amount_decimal": "1", "flat_amount_decimal": None},
    {"up_to": 1_000_000, "unit_amount_decimal": "0.5", "flat_amount_decimal": None},
    {"up_to": "inf", "unit_amount_decimal": "0.3", "flat_amount_decimal": None},
]


def tiered(mode: str, tiers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"billing_scheme": "tiered", "tiers_mode": mode, "_tiers": tiers}


def per_unit(unit: str, transform: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "billing_scheme": "per_unit",
        "unit_amount_decimal": unit,
        "transform_quantity": transform,
    }


def test_graduated_tiers_sum_each_slice() -> None:
    # 100,000 x 1c + 900,000 x 0.5c + 500,000 x 0.3c
    assert line_amount(tiered("graduated", GRADUATED), 1_500_000) == 700_000
    assert line_amount(tiered("graduated", GRADUATED), 100_000) == 100_000
    assert line_amount(tiered("graduated", GRADUATED), 0) == 0


def test_graduated_flat_amounts_apply_to_reached_tiers() -> None:
    tiers = [
        {"up_to": 10, "unit_amount_decimal": "0", "flat_amount_decimal": "500"},
        {"up_to": "inf", "unit_amount_decimal": "10", "flat_amount_decimal": "100"},
    ]
    assert line_amount(tiered("graduated", tiers), 5) == 500
    assert line_amount(tiered("graduated", tiers), 12) == 500 + 100 + 20


def test_volume_prices_whole_quantity_at_its_tier() -> None:
    tiers = [
        {"up_to": 1000, "unit_amount_decimal": "2", "flat_amount_decimal": None},
        {"up_to": "inf", "unit_amount_decimal": "1", "flat_amount_decimal": "300"},
    ]
    assert line_amount(tiered("volume", tiers), 1000) == 2000
    assert line_amount(tiered("volume", tiers), 1001) == 1001 + 300


def test_transform_quantity_packages() -> None:
    package = per_unit("500", {"divide_by": 1000, "round": "up"})
    assert transformed_quantity(1001, package["transform_quantity"]) == 2
    assert line_amount(package, 1001) == 1000
    assert line_amount(per_unit("500", {"divide_by": 1000, "round": "down"}), 1999) == 500


def test_sub_cent_unit_amounts_round_per_line_half_up() -> None:
    assert line_amount(per_unit("0.1"), 78_000) == 7800
    # Stripe's documented example: 0.05 cents x 30 = 1.5 cents, rounded up to 2.
    assert line_amount(per_unit("0.05"), 30) == 2
    assert line_amount(per_unit("0.05"), 29) == 1
    # Credits (negative proration lines) round half away from zero.
    assert line_amount(per_unit("0.05"), 30, Decimal(-1)) == -2


def test_period_arithmetic() -> None:
    jan_31 = 1769817600  # 2026-01-31 00:00 UTC
    assert boundary(jan_31, "month", 1, 1) == 1772236800  # 2026-02-28
    assert boundary(jan_31, "month", 1, 2) == 1774915200  # 2026-03-31
    assert next_boundary_after(JUNE_1, "month", 1, JUNE_1) == 1782864000  # 2026-07-01
    june_16 = JUNE_1 + 15 * 86400
    assert anchor_from_config(june_16, {"day_of_month": 1}, "month") == 1782864000
    assert proration_fraction(june_16, 1782864000, JUNE_1, 1782864000) == Decimal(1) / 2


def _metered_subscription(
    tiers: list[dict[str, Any]], reported: int, base: int | None = None
) -> str:
    customer = stripe.Customer.create(email="usage@example.com")
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": pm.id})
    meter = stripe.billing.Meter.create(
        display_name="Requests", event_name="requests", default_aggregation={"formula": "sum"}
    )
    product = stripe.Product.create(name="API")
    items = [
        {
            "price": stripe.Price.create(
                currency="usd",
                product=product.id,
                billing_scheme="tiered",
                tiers_mode="graduated",
                tiers=tiers,
                recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
            ).id
        }
    ]
    if base is not None:
        base_price = stripe.Price.create(
            currency="usd", product=product.id, unit_amount=base, recurring={"interval": "month"}
        )
        items.insert(0, {"price": base_price.id})
    sub = stripe.Subscription.create(customer=customer.id, items=items)
    stripe.billing.MeterEvent.create(
        event_name="requests",
        payload={"stripe_customer_id": customer.id, "value": str(reported)},
        timestamp=JUNE_1 + 60,
    )
    return sub.id


def test_preview_graduated_usage(server: StripeServerHandle) -> None:
    tiers = [
        {"up_to": 100_000, "unit_amount": 1},
        {"up_to": 1_000_000, "unit_amount_decimal": "0.5"},
        {"up_to": "inf", "unit_amount_decimal": "0.3"},
    ]
    sub_id = _metered_subscription(tiers, 1_500_000)
    preview = stripe.Invoice.create_preview(subscription=sub_id)
    assert preview.total == 700_000
    (line,) = preview.lines.data
    assert line.quantity == 1_500_000 and line.amount == 700_000
    assert line.period.start == JUNE_1


def test_preview_base_fee_plus_overage(server: StripeServerHandle) -> None:
    tiers = [{"up_to": 50_000, "unit_amount": 0}, {"up_to": "inf", "unit_amount_decimal": "0.1"}]
    sub_id = _metered_subscription(tiers, 128_000, base=4900)
    preview = stripe.Invoice.create_preview(subscription=sub_id)
    assert preview.total == 12_700 and preview.amount_due == 12_700
    amounts = sorted(line.amount for line in preview.lines.data)
    assert amounts == [4900, 7800]
    assert preview.id.startswith("upcoming_")
    assert all(line.id.startswith("il_tmp_") for line in preview.lines.data)
    # The preview changes nothing.
    assert len(stripe.Invoice.list(subscription=sub_id).data) == 1


def test_preview_volume_and_package_prices(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create()
    stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    product = stripe.Product.create(name="Seats")
    volume = stripe.Price.create(
        currency="usd",
        product=product.id,
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=[{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
        recurring={"interval": "month"},
    )
    package = stripe.Price.create(
        currency="usd",
        product=product.id,
        unit_amount=2500,
        transform_quantity={"divide_by": 10, "round": "up"},
        recurring={"interval": "month"},
    )
    preview = stripe.Invoice.create_preview(
        customer=customer.id,
        subscription_details={
            "items": [{"price": volume.id, "quantity": 6}, {"price": package.id, "quantity": 11}],
        },
    )
    assert sorted(line.amount for line in preview.lines.data) == [4800, 5000]
    assert preview.total == 9800
    assert stripe.Subscription.list(customer=customer.id).data == []


@pytest.mark.parametrize(("value", "expected"), [("78000", 7800), ("77995", 7800), ("77994", 7799)])
def test_sub_cent_metered_invoice(server: StripeServerHandle, value: str, expected: int) -> None:
    customer = stripe.Customer.create()
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    price = stripe.Price.create(
        currency="usd",
        product_data={"name": "Calls"},
        unit_amount_decimal="0.1",
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": price.id}], default_payment_method=pm.id
    )
    stripe.billing.MeterEvent.create(
        event_name="calls", payload={"stripe_customer_id": customer.id, "value": value}
    )
    invoice_id = server.advance_period(sub.id)["invoices"][0]
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.total == expected and invoice.status == "paid"
