"""Billing credits (``billing.credit_grants``, the credit balance summary and its
transactions) and customer balance transactions.

Billing credits (https://docs.stripe.com/billing/subscriptions/usage-based/billing-credits):
a grant of a monetary amount to a customer, scoped to metered prices (``price_type:
metered``) or to listed prices, with ``category`` (paid/promotional), ``priority`` (0-100,
lower first, default 50), ``effective_at`` and ``expires_at``. Grants apply to the
invoice lines in their scope after discounts, when the invoice is finalized; previews and
drafts show what they will take. ``expire`` ends a grant now; ``void`` cancels one that has
not been used.

Customer balance (https://docs.stripe.com/billing/customer/balance): ``amount`` < 0 is credit
owed to the customer, > 0 a debt; the next finalized invoice applies it to its total
(``starting_balance``/``ending_balance``) and records an ``applied_to_invoice`` transaction.
"""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid_param, missing_param, not_found
from ..ids import new_id
from ..params import merge_metadata
from ..render import RENDERERS, list_object, public, render
from ..state import Store
from .customers import get_customer
from .prices import get_price

DEFAULT_PRIORITY = 50


def get_grant(store: Store, grant_id: str, param: str = "id") -> dict[str, Any]:
    record = store.get("credit_grant", grant_id)
    if record is None:
        raise not_found("billing.credit_grant", grant_id, param)
    return record


def grant_available(store: Store, grant: dict[str, Any], at: int | None = None) -> bool:
    now = store.clock.now() if at is None else at
    return (
        grant["voided_at"] is None
        and (grant["effective_at"] is None or grant["effective_at"] <= now)
        and (grant["expires_at"] is None or now < grant["expires_at"])
        and grant["_remaining"] > 0
    )


def grant_order(grant: dict[str, Any]) -> tuple[Any, ...]:
    """Which grant is used first: priority, then the soonest expiry, then promotional before
    paid, then the oldest."""
    expires = grant["expires_at"] if grant["expires_at"] is not None else float("inf")
    return (grant["priority"], expires, grant["category"] != "promotional", grant["_seq"])


def grant_applies(grant: dict[str, Any], price: dict[str, Any]) -> bool:
    scope = grant["applicability_config"]["scope"]
    if scope.get("prices"):
        return price["id"] in {p["id"] for p in scope["prices"]}
    return (price.get("recurring") or {}).get("usage_type") == "metered"


def create_grant(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer_id = params.str("customer")
    if customer_id is None:
        raise missing_param("customer")
    customer = get_customer(ctx.store, customer_id)
    amount = params.sub("amount")
    monetary = amount.sub("monetary")
    if not amount.has("monetary"):
        raise missing_param("amount[monetary]")
    value = monetary.int("value", required=True, minimum=1) or 0
    currency = (monetary.str("currency", required=True) or "").lower()
    if customer.get("currency") not in (None, currency):
        raise invalid_param(
            "amount[monetary][currency]", "The grant's currency must be the customer's."
        )
    scope = params.sub("applicability_config").sub("scope")
    prices = [p for p in scope.subs("prices")]
    if scope.has("price_type") == bool(prices):
        raise invalid_param(
            "applicability_config[scope]", "Give exactly one of price_type or prices."
        )
    for entry in prices:
        price = get_price(ctx.store, entry.str("id", required=True) or "", entry.name("id"))
        if (price.get("recurring") or {}).get("usage_type") != "metered":
            raise invalid_param(entry.name("id"), "Billing credits apply only to metered prices.")
    priority = params.int("priority", minimum=0, maximum=100)
    now = ctx.now
    effective_at = params.int("effective_at")
    expires_at = params.int("expires_at")
    if expires_at is not None and expires_at <= max(now, effective_at or now):
        raise invalid_param("expires_at", "expires_at must be after effective_at and now.")
    record = {
        "id": new_id("credgr_test", 24),
        "object": "billing.credit_grant",
        "amount": {"monetary": {"currency": currency, "value": value}, "type": "monetary"},
        "applicability_config": {
            "scope": {"price_type": "metered"}
            if scope.has("price_type")
            else {"price_type": None, "prices": [{"id": p.str("id")} for p in prices]}
        },
        "category": params.str("category") or "paid",
        "created": now,
        "customer": customer_id,
        "customer_account": None,
        "effective_at": effective_at if effective_at is not None else now,
        "expires_at": expires_at,
        "livemode": False,
        "metadata": merge_metadata({}, params.metadata()),
        "name": params.str("name"),
        "priority": DEFAULT_PRIORITY if priority is None else priority,
        "test_clock": None,
        "updated": now,
        "voided_at": None,
        "_remaining": value,
    }
    ctx.store.insert("credit_grant", record)
    ctx.events.emit("billing.credit_grant.created", "credit_grant", record)
    _transaction(ctx, record, "credit", value, {"type": "credits_granted"})
    return ctx.render("credit_grant", record)


def _transaction(
    ctx: Ctx, grant: dict[str, Any], kind: str, value: int, detail: dict[str, Any]
) -> dict[str, Any]:
    amount = {
        "monetary": {"currency": grant["amount"]["monetary"]["currency"], "value": value},
        "type": "monetary",
    }
    record = {
        "id": new_id("cbtxn_test", 24),
        "object": "billing.credit_balance_transaction",
        "created": ctx.now,
        "credit": {"amount": amount, "credits_application_invoice_voided": None, **detail}
        if kind == "credit"
        else None,
        "credit_grant": grant["id"],
        "debit": {"amount": amount, "credits_applied": None, **detail} if kind == "debit" else None,
        "effective_at": ctx.now,
        "livemode": False,
        "test_clock": None,
        "type": kind,
        "_customer": grant["customer"],
    }
    ctx.store.insert("credit_balance_transaction", record)
    return record


def debit_grant(
    ctx: Ctx, grant_id: str, value: int, invoice_id: str, line_id: str
) -> dict[str, Any]:
    grant = ctx.store.get_mut("credit_grant", grant_id)
    grant["_remaining"] -= value
    detail = {
        "type": "credits_applied",
        "credits_applied": {"invoice": invoice_id, "invoice_line_item": line_id},
    }
    return _transaction(ctx, grant, "debit", value, detail)


def retrieve_grant(ctx: Ctx, grant_id: str) -> dict[str, Any]:
    return ctx.render("credit_grant", get_grant(ctx.store, grant_id))


def list_grants(ctx: Ctx) -> dict[str, Any]:
    customer = ctx.params.str("customer")
    records = [
        g for g in ctx.store.all("credit_grant") if customer is None or g["customer"] == customer
    ]
    return list_object(ctx.store, "credit_grant", records, ctx.params, "/v1/billing/credit_grants")


def update_grant(ctx: Ctx, grant_id: str) -> dict[str, Any]:
    get_grant(ctx.store, grant_id)
    record = ctx.store.get_mut("credit_grant", grant_id)
    before = render(ctx.store, "credit_grant", record)
    if ctx.params.has("expires_at"):
        record["expires_at"] = (
            None if ctx.params.is_blank("expires_at") else ctx.params.int("expires_at")
        )
    record["metadata"] = merge_metadata(record["metadata"], ctx.params.metadata())
    record["updated"] = ctx.now
    ctx.events.emit_update("billing.credit_grant.updated", "credit_grant", record, before)
    return ctx.render("credit_grant", record)


def expire_grant(ctx: Ctx, grant_id: str) -> dict[str, Any]:
    grant = get_grant(ctx.store, grant_id)
    if grant["voided_at"] is not None or (
        grant["expires_at"] is not None and grant["expires_at"] <= ctx.now
    ):
        raise StripeError(400, "This credit grant has already expired or been voided.")
    record = ctx.store.get_mut("credit_grant", grant_id)
    before = render(ctx.store, "credit_grant", record)
    record["expires_at"] = record["updated"] = ctx.now
    ctx.events.emit_update("billing.credit_grant.updated", "credit_grant", record, before)
    return ctx.render("credit_grant", record)


def void_grant(ctx: Ctx, grant_id: str) -> dict[str, Any]:
    grant = get_grant(ctx.store, grant_id)
    if grant["_remaining"] != grant["amount"]["monetary"]["value"] or grant["voided_at"]:
        raise StripeError(400, "Only an unused credit grant can be voided.")
    record = ctx.store.get_mut("credit_grant", grant_id)
    before = render(ctx.store, "credit_grant", record)
    record["voided_at"] = record["updated"] = ctx.now
    ctx.events.emit_update("billing.credit_grant.updated", "credit_grant", record, before)
    return ctx.render("credit_grant", record)


def balance_summary(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer_id = params.str("customer", required=True) or ""
    get_customer(ctx.store, customer_id)
    flt = params.sub("filter")
    kind = flt.str("type", required=True)
    grants = [
        g
        for g in ctx.store.all("credit_grant")
        if g["customer"] == customer_id and grant_available(ctx.store, g)
    ]
    if kind == "credit_grant":
        grant_id = flt.str("credit_grant", required=True)
        grants = [g for g in grants if g["id"] == grant_id]
    else:
        scope = flt.sub("applicability_scope")
        ids = {p.str("id") for p in scope.subs("prices")}
        if ids:
            grants = [
                g
                for g in grants
                if (g["applicability_config"]["scope"].get("price_type") == "metered")
                or ids & {p["id"] for p in g["applicability_config"]["scope"].get("prices") or []}
            ]
    by_currency: dict[str, int] = {}
    for grant in grants:
        currency = grant["amount"]["monetary"]["currency"]
        by_currency[currency] = by_currency.get(currency, 0) + grant["_remaining"]
    balances = [
        {
            "available_balance": {"monetary": {"currency": c, "value": v}, "type": "monetary"},
            "ledger_balance": {"monetary": {"currency": c, "value": v}, "type": "monetary"},
        }
        for c, v in sorted(by_currency.items())
    ]
    return {
        "object": "billing.credit_balance_summary",
        "balances": balances,
        "customer": customer_id,
        "customer_account": None,
        "livemode": False,
    }


def list_transactions(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer = params.str("customer")
    grant = params.str("credit_grant")
    if customer is None and grant is None:
        raise missing_param("customer")
    records = [
        t
        for t in ctx.store.all("credit_balance_transaction")
        if (customer is None or t["_customer"] == customer)
        and (grant is None or t["credit_grant"] == grant)
    ]
    return list_object(
        ctx.store,
        "credit_balance_transaction",
        records,
        params,
        "/v1/billing/credit_balance_transactions",
    )


def retrieve_transaction(ctx: Ctx, transaction_id: str) -> dict[str, Any]:
    record = ctx.store.get("credit_balance_transaction", transaction_id)
    if record is None:
        raise not_found("billing.credit_balance_transaction", transaction_id, "id")
    return ctx.render("credit_balance_transaction", record)


RENDERERS["credit_grant"] = lambda _store, record: public(record)


# -- customer balance transactions -------------------------------------------------------------
def new_balance_transaction(
    ctx: Ctx,
    customer_id: str,
    amount: int,
    currency: str,
    kind: str,
    *,
    description: str | None = None,
    invoice: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    customer = ctx.store.get_mut("customer", customer_id)
    if kind == "adjustment":
        customer["balance"] = int(customer.get("balance") or 0) + amount
    record = {
        "id": new_id("cbtxn"),
        "object": "customer_balance_transaction",
        "amount": amount,
        "checkout_session": None,
        "created": ctx.now,
        "credit_note": None,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "description": description,
        "ending_balance": customer["balance"],
        "invoice": invoice,
        "livemode": False,
        "metadata": metadata or {},
        "type": kind,
    }
    ctx.store.insert("customer_balance_transaction", record)
    return record


def create_balance_transaction(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    params = ctx.params
    customer = get_customer(ctx.store, customer_id, "customer")
    currency = (params.str("currency", required=True) or "").lower()
    if customer.get("currency") not in (None, currency):
        raise invalid_param("currency", f"The customer's balance is in {customer['currency']}.")
    before = render(ctx.store, "customer", customer)
    record = new_balance_transaction(
        ctx,
        customer_id,
        params.int("amount", required=True) or 0,
        currency,
        "adjustment",
        description=params.str("description"),
        metadata=merge_metadata({}, params.metadata()),
    )
    updated = ctx.store.get_mut("customer", customer_id)
    updated["currency"] = updated.get("currency") or currency
    ctx.events.emit_update("customer.updated", "customer", updated, before)
    return ctx.render("customer_balance_transaction", record)


def list_balance_transactions(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    get_customer(ctx.store, customer_id, "customer")
    records = [
        t for t in ctx.store.all("customer_balance_transaction") if t["customer"] == customer_id
    ]
    return list_object(
        ctx.store,
        "customer_balance_transaction",
        records,
        ctx.params,
        f"/v1/customers/{customer_id}/balance_transactions",
    )


def retrieve_balance_transaction(ctx: Ctx, customer_id: str, transaction_id: str) -> dict[str, Any]:
    record = ctx.store.get("customer_balance_transaction", transaction_id)
    if record is None or record["customer"] != customer_id:
        raise not_found("customer_balance_transaction", transaction_id, "transaction")
    return ctx.render("customer_balance_transaction", record)


def update_balance_transaction(ctx: Ctx, customer_id: str, transaction_id: str) -> dict[str, Any]:
    retrieve_balance_transaction(ctx, customer_id, transaction_id)
    record = ctx.store.get_mut("customer_balance_transaction", transaction_id)
    if ctx.params.has("description"):
        record["description"] = ctx.params.str("description")
    record["metadata"] = merge_metadata(record["metadata"], ctx.params.metadata())
    return ctx.render("customer_balance_transaction", record)
