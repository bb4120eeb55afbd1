"""Checkout Sessions (``subscription``, ``setup`` and ``payment`` modes) and their hosted page.

Each session has a ``url`` on this server (``/c/pay/{id}``): a test-card form (Stripe's test
card numbers, https://docs.stripe.com/testing#cards), a Pay / Start trial / Save button and
a cancel link. Submitting it does what Stripe's hosted Checkout does
(https://docs.stripe.com/payments/checkout/how-checkout-works):

* ``subscription``: creates the customer if none was given, creates and attaches the card,
  creates the subscription with it as the subscription's default payment method (the first
  invoice is paid with it; ``subscription_data`` passes through), completes the session;
* ``setup``: creates and attaches the card and a succeeded SetupIntent for it; Stripe does
  not make it the default: the integration does, from the SetupIntent's ``payment_method``
  (https://docs.stripe.com/payments/checkout/subscriptions/update-payment-details);
* ``payment``: a one-off payment for one-time prices (``line_items`` with quantities). The card
  is charged at once (a declining card is refused on the page); ``payment_status`` becomes
  ``paid``. Stripe's PaymentIntent is not modelled here: ``payment_intent`` stays null, and
  the card is not saved (no ``setup_future_usage``);

then sends ``checkout.session.completed`` and redirects (303) to ``success_url`` with
``{CHECKOUT_SESSION_ID}`` replaced. A declined card leaves the session open and shows
Stripe's message on the page.
"""

from __future__ import annotations

import html
from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid_param, missing_param, not_found
from ..ids import new_id, random_token
from ..invoicing import line_amount
from ..params import Params, merge_metadata
from ..render import INCLUDABLES, RENDERERS, embedded_list, list_object, public, render
from ..state import Store
from .customers import get_customer
from .payment_methods import attach_to, card_from_number, card_of, decline_error
from .prices import get_price

SESSION_LIFETIME = 24 * 3600  # Stripe's default expires_at
PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def get_session(store: Store, session_id: str, param: str = "session") -> dict[str, Any]:
    record = store.get("checkout_session", session_id)
    if record is None:
        raise not_found("checkout.session", session_id, param)
    return record


def _line_items(ctx: Ctx, params: Params, mode: str) -> list[dict[str, Any]]:
    items = params.subs("line_items")
    if mode == "subscription" and not items:
        raise missing_param("line_items")
    if mode == "setup" and items:
        raise invalid_param("line_items", "You can not pass `line_items` in `setup` mode.")
    if mode == "payment" and not items:
        raise missing_param("line_items")
    out = []
    currency = None
    for item in items:
        if item.has("price_data"):
            raise invalid_param(
                item.name("price_data"), "Use a Price id: price_data is not modelled."
            )
        price = get_price(ctx.store, item.str("price", required=True) or "", item.name("price"))
        recurring = price.get("recurring")
        if mode == "payment":
            if recurring is not None:
                raise invalid_param(
                    item.name("price"),
                    "You must provide at least one recurring price in `subscription` mode "
                    "when using prices; in `payment` mode, use one-time prices only.",
                )
            if not price["active"]:
                raise invalid_param(item.name("price"), "The price specified is inactive.")
            quantity = item.int("quantity", minimum=1)
            if quantity is None:
                raise missing_param(item.name("quantity"))
            if currency is not None and price["currency"] != currency:
                raise invalid_param(item.name("price"), "All prices must have the same currency.")
            currency = price["currency"]
            out.append(
                {
                    "price": price["id"],
                    "quantity": quantity,
                    "metadata": merge_metadata({}, item.metadata()),
                }
            )
            continue
        if recurring is None:
            raise invalid_param(
                item.name("price"),
                "In `subscription` mode, all line items must use recurring prices.",
            )
        if not price["active"]:
            raise invalid_param(item.name("price"), "The price specified is inactive.")
        metered = recurring["usage_type"] == "metered"
        quantity = item.int("quantity", minimum=0)
        if metered and quantity is not None:
            raise invalid_param(
                item.name("quantity"),
                "Quantity should not be specified for a price with usage_type `metered`.",
            )
        if not metered and quantity is None:
            raise missing_param(item.name("quantity"))
        if currency is not None and price["currency"] != currency:
            raise invalid_param(item.name("price"), "All prices must have the same currency.")
        currency = price["currency"]
        out.append(
            {
                "price": price["id"],
                "quantity": quantity,
                "metadata": merge_metadata({}, item.metadata()),
            }
        )
    return out


def create(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    mode = params.str("mode", required=True)
    if mode not in ("subscription", "setup", "payment"):
        raise invalid_param(
            "mode",
            f"This local Stripe server models subscription, setup and payment mode, not {mode}.",
        )
    success_url = params.str("success_url", required=True)
    customer_id = params.str("customer")
    if customer_id is not None:
        get_customer(ctx.store, customer_id)
        if params.has("customer_email"):
            raise StripeError(
                400,
                "You may only specify one of these parameters: customer, customer_email.",
                param="customer_email",
            )
    if params.has("discounts") and params.bool("allow_promotion_codes"):
        raise StripeError(
            400,
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            param="discounts",
        )
    if mode != "subscription" and params.has("subscription_data"):
        raise invalid_param("subscription_data", "subscription_data is only for subscription mode.")
    items = _line_items(ctx, params, mode)
    now = ctx.now
    expires_at = params.int("expires_at") or now + SESSION_LIFETIME
    if not now + 1800 <= expires_at <= now + SESSION_LIFETIME:
        raise invalid_param(
            "expires_at", "expires_at must be between 30 minutes and 24 hours from now."
        )
    currency = (
        get_price(ctx.store, items[0]["price"])["currency"] if items else params.str("currency")
    )
    session_id = new_id("cs_test", 58)
    record: dict[str, Any] = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": params.bool("allow_promotion_codes"),
        "amount_subtotal": None,
        "amount_total": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": params.str("billing_address_collection"),
        "cancel_url": params.str("cancel_url"),
        "client_reference_id": params.str("client_reference_id"),
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": currency,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer_id,
        "customer_account": None,
        "customer_creation": None if customer_id else "always",
        "customer_details": None,
        "customer_email": params.str("customer_email"),
        "discounts": [],
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": params.str("locale"),
        "metadata": merge_metadata({}, params.metadata()),
        "mode": mode,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": params.str("payment_method_collection") or "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": None,
        "ui_mode": "hosted",
        "url": f"{ctx.server.base_url}/c/pay/{session_id}",
        "_line_items": [{**item, "id": new_id("li", 24)} for item in items],
        "_subscription_data": dict(params.raw("subscription_data") or {}),
        "_discounts": list(params.list("discounts")),
    }
    _preview_amounts(ctx, record)
    ctx.store.insert("checkout_session", record)
    return ctx.render("checkout_session", record)


def _preview_amounts(ctx: Ctx, record: dict[str, Any]) -> None:
    """What the first invoice (or the payment) will charge (licensed items in advance; metered
    ones at zero)."""
    if record["mode"] == "setup":
        return
    total = 0
    for item in record["_line_items"]:
        if item["quantity"] is not None:
            total += line_amount(get_price(ctx.store, item["price"]), item["quantity"])
    record["amount_subtotal"] = record["amount_total"] = total
    record["total_details"] = {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}


def _render_line(store: Store, item: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
    price = get_price(store, item["price"])
    amount = 0 if item["quantity"] is None else line_amount(price, item["quantity"])
    product = store.get("product", price["product"]) or {}
    return {
        "id": item["id"],
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price["currency"],
        "description": product.get("name"),
        "metadata": item.get("metadata") or {},
        "price": render(store, "price", price),
        "quantity": item["quantity"],
    }


def render_session(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    return public(record)


RENDERERS["checkout_session"] = render_session
INCLUDABLES["checkout.session"] = {
    "line_items": lambda store, obj: embedded_list(
        [
            _render_line(store, item, obj)
            for item in (store.get("checkout_session", obj["id"]) or {}).get("_line_items", [])
        ],
        f"/v1/checkout/sessions/{obj['id']}/line_items",
    )
}


# Includable, and expanded by dj-stripe when it syncs a session (`line_items.data.discounts`,
# `total_details.breakdown`): discounts and taxes are not itemized here, so both are empty.
INCLUDABLES["item"] = {"discounts": lambda store, obj: []}
INCLUDABLES[""] = {"breakdown": lambda store, obj: {"discounts": [], "taxes": []}}


def retrieve(ctx: Ctx, session_id: str) -> dict[str, Any]:
    return ctx.render("checkout_session", get_session(ctx.store, session_id, "session"))


def list_(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer = params.str("customer")
    subscription = params.str("subscription")
    status = params.str("status")
    records = [
        r
        for r in ctx.store.all("checkout_session")
        if (customer is None or r["customer"] == customer)
        and (subscription is None or r["subscription"] == subscription)
        and (status is None or r["status"] == status)
    ]
    return list_object(ctx.store, "checkout_session", records, params, "/v1/checkout/sessions")


def list_line_items(ctx: Ctx, session_id: str) -> dict[str, Any]:
    session = get_session(ctx.store, session_id, "session")
    rows = [
        {**_render_line(ctx.store, item, session), "_seq": -i}
        for i, item in enumerate(session["_line_items"])
    ]
    return list_object(
        ctx.store,
        "item",
        rows,
        ctx.params,
        f"/v1/checkout/sessions/{session_id}/line_items",
        render_one=lambda r, _paths: public(r),
    )


def expire(ctx: Ctx, session_id: str) -> dict[str, Any]:
    get_session(ctx.store, session_id, "session")
    record = ctx.store.get_mut("checkout_session", session_id)
    if record["status"] != "open":
        raise StripeError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. This session '
            f"has a status of `{record['status']}`.",
        )
    record["status"] = "expired"
    record["url"] = None
    ctx.events.emit("checkout.session.expired", "checkout_session", record)
    return ctx.render("checkout_session", record)


# -- the hosted page ---------------------------------------------------------------------------
def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def hosted_page(ctx: Ctx, session_id: str, error: str | None = None) -> str:
    session = get_session(ctx.store, session_id, "session")
    if session["status"] != "open" or ctx.now >= session["expires_at"]:
        return _page("Checkout", "<p id='closed'>This Checkout Session is no longer active.</p>")
    rows = "".join(
        f"<li>{html.escape(line['description'] or '')} — "
        + (
            "billed by usage"
            if line["quantity"] is None
            else f"{line['quantity']} × {_money(line['amount_total'], line['currency'])}"
        )
        + "</li>"
        for line in (_render_line(ctx.store, item, session) for item in session["_line_items"])
    )
    trial = (session["_subscription_data"] or {}).get("trial_period_days")
    if session["mode"] == "setup":
        title, button = "Save a card for future payments", "Save card"
    elif session["mode"] == "payment":
        title, button = "Pay", "Pay"
    elif trial:
        title, button = f"Start your {html.escape(str(trial))}-day trial", "Start trial"
    else:
        title, button = "Subscribe", "Pay and subscribe"
    total = (
        f"<p id='total'>Due today: {_money(session['amount_total'], session['currency'])}</p>"
        if session["amount_total"] is not None
        else ""
    )
    cancel = (
        f"<a id='cancel' href='{html.escape(session['cancel_url'])}'>Cancel</a>"
        if session["cancel_url"]
        else ""
    )
    problem = f"<p id='error' role='alert'>{html.escape(error)}</p>" if error else ""
    body = (
        f"<h1>{title}</h1><ul id='items'>{rows}</ul>{total}{problem}"
        "<form method='post'>"
        "<label>Email <input name='email' id='email' type='email' "
        f"value='{html.escape(session['customer_email'] or '')}'></label>"
        + (
            "<label>Promotion code <input name='promotion_code' id='promotion_code'></label>"
            if session["allow_promotion_codes"]
            else ""
        )
        + "<label>Card number <input name='cardnumber' id='cardnumber' inputmode='numeric' "
        "autocomplete='cc-number' required></label>"
        "<label>Expiry <input name='exp' id='exp' value='12 / 34'></label>"
        "<label>CVC <input name='cvc' id='cvc' value='123'></label>"
        f"<button type='submit' id='submit'>{button}</button></form>{cancel}"
    )
    return _page("Checkout", body)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{title}</title>"
        # No favicon request: this server would answer it 401 (no API key), which a browser
        # logs as an error on the page.
        "<link rel='icon' href='data:,'>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto}"
        "label{display:block;margin:.5rem 0}#error{color:#b00}</style>"
        f"<body><p><small>Local Stripe test page</small></p>{body}</body></html>"
    )


def submit(ctx: Ctx, session_id: str, form: dict[str, str]) -> str:
    """The customer pressed the button: returns the URL to redirect to. A card error is raised
    (the caller shows the page again with its message); nothing is kept from a failed try."""
    session = get_session(ctx.store, session_id, "session")
    if session["status"] != "open" or ctx.now >= session["expires_at"]:
        raise StripeError(400, "This Checkout Session is no longer active.")
    record = ctx.store.get_mut("checkout_session", session_id)
    email = form.get("email") or record["customer_email"]
    customer_id = record["customer"] or _new_customer(ctx, email)
    pm = card_from_number(ctx, form.get("cardnumber") or "")
    if record["mode"] == "payment":
        card = card_of(pm)
        if card.behavior != "ok":
            raise decline_error(card)
    else:
        pm = attach_to(ctx, pm["id"], customer_id)
    record["customer"] = customer_id
    customer = ctx.store.get("customer", customer_id) or {}
    record["customer_details"] = {
        "address": None,
        "business_name": None,
        "email": customer.get("email"),
        "individual_name": None,
        "name": customer.get("name"),
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
    code = (form.get("promotion_code") or "").strip()
    if code and record["allow_promotion_codes"]:
        record["_discounts"] = [{"promotion_code": _promotion_code_id(ctx, code)}]
    if record["mode"] == "subscription":
        _start_subscription(ctx, record, customer_id, pm["id"])
    elif record["mode"] == "payment":
        record["payment_status"] = "paid"
    else:
        record["setup_intent"] = _succeeded_setup_intent(ctx, customer_id, pm["id"])
    record["status"] = "complete"
    record["url"] = None
    ctx.events.emit("checkout.session.completed", "checkout_session", record)
    return record["success_url"].replace(PLACEHOLDER, session_id)


def _promotion_code_id(ctx: Ctx, code: str) -> str:
    """The customer typed a code: the active promotion code with it (any case)."""
    for promo in ctx.store.all("promotion_code"):
        if promo["active"] and promo["code"].lower() == code.lower():
            return str(promo["id"])
    raise StripeError(400, "This code is invalid.", param="promotion_code")


def _new_customer(ctx: Ctx, email: str | None) -> str:
    from . import customers

    created = customers.create(
        Ctx(server=ctx.server, params=Params({"email": email} if email else {}), method="POST")
    )
    return created["id"]


def _start_subscription(ctx: Ctx, record: dict[str, Any], customer_id: str, pm_id: str) -> None:
    from ..billing import Billing

    data: dict[str, Any] = {
        key: value
        for key, value in (record["_subscription_data"] or {}).items()
        if key
        in (
            "billing_cycle_anchor",
            "billing_cycle_anchor_config",
            "billing_mode",
            "description",
            "metadata",
            "proration_behavior",
            "trial_end",
            "trial_period_days",
            "trial_settings",
        )
    }
    data.update(
        {
            "customer": customer_id,
            "default_payment_method": pm_id,
            "payment_behavior": "error_if_incomplete",
            "items": [
                {
                    "price": item["price"],
                    **({} if item["quantity"] is None else {"quantity": str(item["quantity"])}),
                }
                for item in record["_line_items"]
            ],
        }
    )
    if record["_discounts"]:
        data["discounts"] = record["_discounts"]
    sub = Billing(ctx).create_subscription(Params(data))
    invoice = ctx.store.get("invoice", sub.get("latest_invoice") or "") or {}
    record["subscription"] = sub["id"]
    record["invoice"] = invoice.get("id")
    paid = invoice.get("amount_paid") or 0
    record["payment_status"] = "paid" if paid > 0 else "no_payment_required"
    record["amount_subtotal"] = invoice.get("subtotal", record["amount_subtotal"])
    record["amount_total"] = invoice.get("total", record["amount_total"])
    discount = sum(d["amount"] for d in invoice.get("total_discount_amounts") or [])
    record["total_details"] = {"amount_discount": discount, "amount_shipping": 0, "amount_tax": 0}
    record["discounts"] = []
    for discount_id in invoice.get("discounts") or []:
        discount = ctx.store.get("discount", discount_id) or {}
        promo = discount.get("promotion_code")
        coupon = None if promo else (discount.get("source") or {}).get("coupon")
        record["discounts"].append({"coupon": coupon, "promotion_code": promo})


def _succeeded_setup_intent(ctx: Ctx, customer_id: str, pm_id: str) -> str:
    intent_id = new_id("seti")
    ctx.store.insert(
        "setup_intent",
        {
            "id": intent_id,
            "object": "setup_intent",
            "application": None,
            "automatic_payment_methods": None,
            "cancellation_reason": None,
            "client_secret": f"{intent_id}_secret_{random_token(24)}",
            "created": ctx.now,
            "customer": customer_id,
            "customer_account": None,
            "description": None,
            "excluded_payment_method_types": None,
            "flow_directions": None,
            "last_setup_error": None,
            "latest_attempt": None,
            "livemode": False,
            "mandate": None,
            "metadata": {},
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": pm_id,
            "payment_method_configuration_details": None,
            "payment_method_options": {},
            "payment_method_types": ["card"],
            "single_use_mandate": None,
            "status": "succeeded",
            "usage": "off_session",
        },
    )
    intent = ctx.store.get("setup_intent", intent_id)
    assert intent is not None
    ctx.events.emit("setup_intent.created", "setup_intent", intent)
    ctx.events.emit("setup_intent.succeeded", "setup_intent", intent)
    return intent_id


def retrieve_setup_intent(ctx: Ctx, intent_id: str) -> dict[str, Any]:
    record = ctx.store.get("setup_intent", intent_id)
    if record is None:
        raise not_found("setup_intent", intent_id, "intent")
    return ctx.render("setup_intent", record)
