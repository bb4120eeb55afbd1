"""The one money formatter: every page, email, admin column, chart axis and quote line uses it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.money import cents_to_dollars, money


@pytest.mark.parametrize(
    ("amount", "options", "text"),
    [
        (Decimal("1234.5"), {}, "$1,234.50"),
        ("78.00", {}, "$78.00"),
        (49, {}, "$49.00"),
        (Decimal("49.00"), {"drop_zero_cents": True}, "$49"),
        (Decimal("49.50"), {"drop_zero_cents": True}, "$49.50"),
        (1234.56, {"places": 0}, "$1,235"),  # a chart axis
        (Decimal("-12.3"), {}, "−$12.30"),  # a typographic minus, before the sign
        (Decimal("-0.001"), {}, "$0.00"),  # never "−$0.00"
        (Decimal("49"), {"sign": ""}, "49.00"),
        (Decimal("0.001"), {"exact": True}, "$0.001"),  # a unit price, every place shown
        (Decimal("0.0010"), {"exact": True}, "$0.001"),
        (Decimal("0.25"), {"exact": True}, "$0.25"),
        (Decimal("5"), {"exact": True}, "$5.00"),
        (None, {}, ""),
        ("", {}, ""),
    ],
)
def test_money(amount, options, text):
    assert money(amount, **options) == text


def test_cents_become_exact_dollars():
    assert cents_to_dollars(4900) == Decimal("49.00")
    assert cents_to_dollars(1) == Decimal("0.01")
    assert cents_to_dollars(None) == Decimal("0.00")
    assert str(cents_to_dollars(-250)) == "-2.50"
