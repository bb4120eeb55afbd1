"""Payment methods: Stripe's test cards by magic id or token, attach/detach, lists.

Behaviours follow Stripe's testing docs: cards that decline (``pm_card_chargeDeclined``,
``..._chargeDeclinedInsufficientFunds`` ...) already fail when attached to a customer (Stripe
validates the card then), while ``pm_card_chargeCustomerFail`` attaches fine and then every
charge fails: it drives dunning tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid_param, not_found
from ..ids import new_id, random_token
from ..params import merge_metadata
from ..render import list_object, render
from ..state import Store
from .customers import get_customer


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    funding: str = "credit"
    # "ok": always succeeds; "decline": fails when attached and charged; "charge_fail":
    # attaches fine, every charge fails.
    behavior: str = "ok"
    code: str = "card_declined"
    decline_code: str | None = None
    message: str = "Your card was declined."


_DECLINED = TestCard("visa", "0002", behavior="decline", decline_code="generic_decline")
_INSUFFICIENT = TestCard(
    "visa",
    "9995",
    behavior="decline",
    decline_code="insufficient_funds",
    message="Your card has insufficient funds.",
)
_LOST = TestCard("visa", "9987", behavior="decline", decline_code="lost_card")
_EXPIRED = TestCard(
    "visa",
    "0069",
    behavior="decline",
    code="expired_card",
    decline_code="expired_card",
    message="Your card has expired.",
)
_CVC = TestCard(
    "visa",
    "0127",
    behavior="decline",
    code="incorrect_cvc",
    decline_code="incorrect_cvc",
    message="Your card's security code is incorrect.",
)
_CUSTOMER_FAIL = TestCard("visa", "0341", behavior="charge_fail", decline_code="generic_decline")

TEST_CARDS: dict[str, TestCard] = {
    "visa": TestCard("visa", "4242"),
    "visa_debit": TestCard("visa", "5556", funding="debit"),
    "mastercard": TestCard("mastercard", "4444"),
    "amex": TestCard("amex", "8431"),
    "discover": TestCard("discover", "1117"),
    "chargeDeclined": _DECLINED,
    "visa_chargeDeclined": _DECLINED,
    "chargeDeclinedInsufficientFunds": _INSUFFICIENT,
    "visa_chargeDeclinedInsufficientFunds": _INSUFFICIENT,
    "insufficientFunds": _INSUFFICIENT,
    "chargeDeclinedLostCard": _LOST,
    "visa_chargeDeclinedLostCard": _LOST,
    "chargeDeclinedExpiredCard": _EXPIRED,
    "chargeDeclinedIncorrectCvc": _CVC,
    "chargeCustomerFail": _CUSTOMER_FAIL,
}


# Card numbers typed into the hosted pages (Stripe's test cards,
# https://docs.stripe.com/testing#cards) -> the test card they stand for.
CARD_NUMBERS: dict[str, str] = {
    "4242424242424242": "visa",
    "4000056655665556": "visa_debit",
    "5555555555554444": "mastercard",
    "378282246310005": "amex",
    "6011111111111117": "discover",
    "4000000000000002": "chargeDeclined",
    "4000000000009995": "chargeDeclinedInsufficientFunds",
    "4000000000009987": "chargeDeclinedLostCard",
    "4000000000000069": "chargeDeclinedExpiredCard",
    "4000000000000127": "chargeDeclinedIncorrectCvc",
    "4000000000000341": "chargeCustomerFail",
}


def card_from_number(ctx: Ctx, number: str) -> dict[str, Any]:
    """A new, unattached card payment method for a test card number typed into a hosted page;
    an unknown number is Stripe's ``incorrect_number`` card error."""
    name = CARD_NUMBERS.get("".join(number.split()))
    if name is None:
        raise StripeError(
            402,
            "Your card number is incorrect.",
            type="card_error",
            code="incorrect_number",
            param="number",
        )
    return ctx.store.insert("payment_method", _new_card_record(ctx, TEST_CARDS[name]))


def _magic(name: str, prefix: str) -> TestCard | None:
    return TEST_CARDS.get(name[len(prefix) :]) if name.startswith(prefix) else None


def _new_card_record(ctx: Ctx, card: TestCard) -> dict[str, Any]:
    now = ctx.now
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "unchecked",
            },
            "country": "US",
            "display_brand": card.brand,
            "exp_month": 12,
            # Always in the future, as Stripe's test cards are.
            "exp_year": 2034 if now < 2000000000 else 2099,
            "fingerprint": random_token(16),
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now,
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "radar_options": {},
        "type": "card",
        "_card": card.__dict__,
    }


def card_of(pm: dict[str, Any]) -> TestCard:
    return TestCard(**pm["_card"])


def decline_error(card: TestCard, *, keep_changes: bool = False) -> StripeError:
    return StripeError(
        402,
        card.message,
        type="card_error",
        code=card.code,
        decline_code=card.decline_code,
        param="" if card.code == "card_declined" else None,
        keep_changes=keep_changes,
    )


def get_pm(store: Store, pm_id: str, param: str = "payment_method") -> dict[str, Any]:
    record = store.get("payment_method", pm_id)
    if record is None:
        raise not_found("PaymentMethod", pm_id, param)
    return record


def attach_to(ctx: Ctx, pm_id: str, customer_id: str) -> dict[str, Any]:
    """Attach ``pm_id`` (a fresh clone, for magic test ids) to the customer."""
    get_customer(ctx.store, customer_id)
    magic = _magic(pm_id, "pm_card_")
    if magic is not None:
        record = ctx.store.insert("payment_method", _new_card_record(ctx, magic))
    else:
        get_pm(ctx.store, pm_id, "payment_method")
        record = ctx.store.get_mut("payment_method", pm_id)
        if record["customer"] == customer_id:
            return record
        if record["customer"] is not None:
            raise StripeError(
                400,
                "The payment method you provided has already been attached to a customer.",
                code="payment_method_unexpected_state",
            )
    card = card_of(record)
    if card.behavior == "decline":
        raise decline_error(card)
    record["customer"] = customer_id
    ctx.events.emit("payment_method.attached", "payment_method", record)
    return record


def attach(ctx: Ctx, pm_id: str) -> dict[str, Any]:
    customer_id = ctx.params.str("customer", required=True)
    assert customer_id is not None
    record = attach_to(ctx, pm_id, customer_id)
    return ctx.render("payment_method", record)


def create(ctx: Ctx) -> dict[str, Any]:
    pm_type = ctx.params.str("type", required=True)
    if pm_type != "card":
        raise invalid_param("type", f"This server only supports type=card, not {pm_type}.")
    card_params = ctx.params.sub("card")
    token = card_params.str("token")
    if token is None:
        raise StripeError(
            400,
            "Pass a test token in card[token] (e.g. tok_visa); raw card numbers are not accepted.",
            code="parameter_missing",
            param="card[token]",
        )
    card = _magic(token, "tok_")
    if card is None:
        raise invalid_param("card[token]", f"No such token: '{token}'", code="resource_missing")
    record = _new_card_record(ctx, card)
    record["metadata"] = merge_metadata({}, ctx.params.metadata())
    details = ctx.params.sub("billing_details")
    for key in ("email", "name", "phone"):
        if details.has(key):
            record["billing_details"][key] = details.str(key)
    ctx.store.insert("payment_method", record)
    return ctx.render("payment_method", record)


def retrieve(ctx: Ctx, pm_id: str) -> dict[str, Any]:
    if _magic(pm_id, "pm_card_") is not None:
        # Stripe lets you retrieve magic test ids: each retrieve is a fresh, unattached card.
        return render(ctx.store, "payment_method", _new_card_record(ctx, _magic(pm_id, "pm_card_")))  # type: ignore[arg-type]
    return ctx.render("payment_method", get_pm(ctx.store, pm_id, "payment_method"))


def update(ctx: Ctx, pm_id: str) -> dict[str, Any]:
    get_pm(ctx.store, pm_id, "payment_method")
    record = ctx.store.get_mut("payment_method", pm_id)
    before = render(ctx.store, "payment_method", record)
    record["metadata"] = merge_metadata(record["metadata"], ctx.params.metadata())
    details = ctx.params.sub("billing_details")
    for key in ("email", "name", "phone"):
        if details.has(key):
            record["billing_details"][key] = details.str(key)
    ctx.events.emit_update("payment_method.updated", "payment_method", record, before)
    return ctx.render("payment_method", record)


def detach(ctx: Ctx, pm_id: str) -> dict[str, Any]:
    get_pm(ctx.store, pm_id, "payment_method")
    record = ctx.store.get_mut("payment_method", pm_id)
    customer_id = record["customer"]
    if customer_id is None:
        raise StripeError(
            400,
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            code="payment_method_unexpected_state",
        )
    record["customer"] = None
    customer = ctx.store.get("customer", customer_id)
    if customer and customer["invoice_settings"]["default_payment_method"] == pm_id:
        customer = ctx.store.get_mut("customer", customer_id)
        before = render(ctx.store, "customer", customer)
        customer["invoice_settings"]["default_payment_method"] = None
        ctx.events.emit_update("customer.updated", "customer", customer, before)
    for sub in ctx.store.all("subscription"):
        if sub.get("default_payment_method") == pm_id:
            ctx.store.get_mut("subscription", sub["id"])["default_payment_method"] = None
    ctx.events.emit("payment_method.detached", "payment_method", record, {"customer": customer_id})
    return ctx.render("payment_method", record)


def _filtered(ctx: Ctx, customer_id: str | None) -> list[dict[str, Any]]:
    pm_type = ctx.params.str("type")
    return [
        r
        for r in ctx.store.all("payment_method")
        if (customer_id is None or r["customer"] == customer_id)
        and (pm_type is None or r["type"] == pm_type)
    ]


def list_(ctx: Ctx) -> dict[str, Any]:
    customer_id = ctx.params.str("customer")
    if customer_id is None:
        # Stripe only lists a customer's payment methods (or none without one).
        records: list[dict[str, Any]] = []
    else:
        get_customer(ctx.store, customer_id)
        records = _filtered(ctx, customer_id)
    return list_object(ctx.store, "payment_method", records, ctx.params, "/v1/payment_methods")


def list_for_customer(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    get_customer(ctx.store, customer_id, "customer")
    return list_object(
        ctx.store,
        "payment_method",
        _filtered(ctx, customer_id),
        ctx.params,
        f"/v1/customers/{customer_id}/payment_methods",
    )


def retrieve_for_customer(ctx: Ctx, customer_id: str, pm_id: str) -> dict[str, Any]:
    get_customer(ctx.store, customer_id, "customer")
    record = ctx.store.get("payment_method", pm_id)
    if record is None or record["customer"] != customer_id:
        raise not_found("PaymentMethod", pm_id, "payment_method")
    return ctx.render("payment_method", record)
