"""Customer portal sessions (``billing_portal.sessions.create``) and their hosted page.

The page at the session's ``url`` (``/p/session/{id}``) shows the customer's live
subscriptions and default card, and lets the customer do what Stripe's default portal
configuration allows (https://docs.stripe.com/customer-management): replace the card (the new
card becomes the customer's default and that of subscriptions that had one), cancel a
subscription at the end of its period, and go back to ``return_url``.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid_param
from ..ids import new_id
from ..params import Params
from ..render import render
from .checkout import _page
from .customers import get_customer
from .payment_methods import attach_to, card_from_number

# Stripe's portal links are short-lived; here a session's page works for a day (tests
# move the clock by periods, not minutes).
LIFETIME = 24 * 3600
CONFIGURATION = "bpc_1PetStoreLocalDefault0"


def create(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer_id = params.str("customer", required=True) or ""
    get_customer(ctx.store, customer_id)
    if params.has("flow_data"):
        raise invalid_param("flow_data", "This local Stripe server has no portal flows.")
    configuration = params.str("configuration") or CONFIGURATION
    if configuration != CONFIGURATION:
        raise invalid_param("configuration", f"No such configuration: '{configuration}'")
    session_id = new_id("bps")
    record = {
        "id": session_id,
        "object": "billing_portal.session",
        "configuration": configuration,
        "created": ctx.now,
        "customer": customer_id,
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": params.str("locale"),
        "on_behalf_of": params.str("on_behalf_of"),
        "return_url": params.str("return_url"),
        "url": f"{ctx.server.base_url}/p/session/{session_id}",
    }
    ctx.store.insert("billing_portal_session", record)
    return ctx.render("billing_portal_session", record)


def _session(ctx: Ctx, session_id: str) -> dict[str, Any]:
    record = ctx.store.get("billing_portal_session", session_id)
    if record is None or ctx.now > record["created"] + LIFETIME:
        raise StripeError(404, "This portal session does not exist or has expired.")
    return record


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y").lstrip("0")


def hosted_page(ctx: Ctx, session_id: str, notice: str | None = None) -> str:
    session = _session(ctx, session_id)
    customer = get_customer(ctx.store, session["customer"])
    pm_id = customer["invoice_settings"]["default_payment_method"]
    pm = ctx.store.get("payment_method", pm_id or "")
    card = f"{pm['card']['brand'].title()} •••• {pm['card']['last4']}" if pm else "No card on file"
    subs = []
    for sub in ctx.store.all("subscription"):
        if sub["customer"] != customer["id"] or sub["status"] in ("canceled", "incomplete_expired"):
            continue
        names = ", ".join(
            html.escape(_product_name(ctx, i["_price"]))
            for i in (ctx.store.get("subscription_item", x) for x in sub["_items"])
            if i is not None and not i.get("_deleted")
        )
        state = (
            f"cancels on {_date(sub['_period_end'])}"
            if sub["cancel_at_period_end"]
            else f"renews on {_date(sub['_period_end'])}"
        )
        button = (
            ""
            if sub["cancel_at_period_end"]
            else "<form method='post'><input type='hidden' name='action' value='cancel'>"
            f"<input type='hidden' name='subscription' value='{sub['id']}'>"
            f"<button type='submit' id='cancel-{sub['id']}'>Cancel plan</button></form>"
        )
        subs.append(
            f"<li class='subscription' data-id='{sub['id']}'>{names} — "
            f"<span class='status'>{sub['status']}</span>, {state}{button}</li>"
        )
    back = (
        f"<a id='return' href='{html.escape(session['return_url'])}'>Return</a>"
        if session["return_url"]
        else ""
    )
    message = f"<p id='notice' role='status'>{html.escape(notice)}</p>" if notice else ""
    body = (
        f"<h1>Billing</h1>{message}<h2>Subscriptions</h2>"
        f"<ul id='subscriptions'>{''.join(subs)}</ul>"
        f"<h2>Payment method</h2><p id='card'>{card}</p>"
        "<form method='post'><input type='hidden' name='action' value='update_card'>"
        "<label>New card number <input name='cardnumber' id='cardnumber' required></label>"
        "<button type='submit' id='update-card'>Update card</button></form>"
        f"{back}"
    )
    return _page("Billing portal", body)


def _product_name(ctx: Ctx, price_id: str) -> str:
    price = ctx.store.get("price", price_id) or {}
    product = ctx.store.get("product", price.get("product") or "") or {}
    return str(product.get("name") or price_id)


def submit(ctx: Ctx, session_id: str, form: dict[str, str]) -> str:
    """A portal action; returns the notice shown on the page again."""
    from ..billing import Billing

    session = _session(ctx, session_id)
    customer_id = session["customer"]
    action = form.get("action")
    if action == "update_card":
        pm = attach_to(ctx, card_from_number(ctx, form.get("cardnumber") or "")["id"], customer_id)
        customer = ctx.store.get_mut("customer", customer_id)
        before = render(ctx.store, "customer", customer)
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        ctx.events.emit_update("customer.updated", "customer", customer, before)
        for sub in ctx.store.all("subscription"):
            if sub["customer"] == customer_id and sub.get("default_payment_method"):
                record = ctx.store.get_mut("subscription", sub["id"])
                before = render(ctx.store, "subscription", record)
                record["default_payment_method"] = pm["id"]
                ctx.events.emit_update(
                    "customer.subscription.updated", "subscription", record, before
                )
        return f"Card ending {pm['card']['last4']} saved."
    if action == "cancel":
        sub_id = form.get("subscription") or ""
        sub = ctx.store.get("subscription", sub_id)
        if sub is None or sub["customer"] != customer_id:
            raise StripeError(404, "No such subscription for this customer.")
        Billing(ctx).update_subscription(sub_id, Params({"cancel_at_period_end": "true"}))
        return f"Your plan will be canceled on {_date(sub['_period_end'])}."
    raise StripeError(400, "Unknown portal action.")
