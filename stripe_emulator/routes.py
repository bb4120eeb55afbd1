"""Every route of Stripe's API this server serves, as a werkzeug ``Map``: path -> handler.

Each route must have a request definition in the ``stripe`` library (``definitions``); the
server refuses to start otherwise, so a new route cannot silently accept anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Map, Rule

from .resources import (
    account,
    billing_portal,
    checkout,
    customers,
    event_destinations,
    events_api,
    invoice_items,
    invoices,
    meters,
    payment_methods,
    prices,
    products,
    subscription_items,
    subscriptions,
    webhook_endpoints,
)

Handler = Callable[..., Any]

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/v1/account", account.retrieve),
    ("POST", "/v1/customers", customers.create),
    ("GET", "/v1/customers", customers.list_),
    ("GET", "/v1/customers/<customer_id>", customers.retrieve),
    ("POST", "/v1/customers/<customer_id>", customers.update),
    ("DELETE", "/v1/customers/<customer_id>", customers.delete),
    ("GET", "/v1/customers/<customer_id>/payment_methods", payment_methods.list_for_customer),
    (
        "GET",
        "/v1/customers/<customer_id>/payment_methods/<pm_id>",
        payment_methods.retrieve_for_customer,
    ),
    ("POST", "/v1/payment_methods", payment_methods.create),
    ("GET", "/v1/payment_methods", payment_methods.list_),
    ("GET", "/v1/payment_methods/<pm_id>", payment_methods.retrieve),
    ("POST", "/v1/payment_methods/<pm_id>", payment_methods.update),
    ("POST", "/v1/payment_methods/<pm_id>/attach", payment_methods.attach),
    ("POST", "/v1/payment_methods/<pm_id>/detach", payment_methods.detach),
    ("POST", "/v1/products", products.create),
    ("GET", "/v1/products", products.list_),
    ("GET", "/v1/products/<product_id>", products.retrieve),
    ("POST", "/v1/products/<product_id>", products.update),
    ("DELETE", "/v1/products/<product_id>", products.delete),
    ("GET", "/v1/products/<product_id>/features", products.list_features),
    ("POST", "/v1/prices", prices.create),
    ("GET", "/v1/prices", prices.list_),
    ("GET", "/v1/prices/<price_id>", prices.retrieve),
    ("POST", "/v1/prices/<price_id>", prices.update),
    ("POST", "/v1/billing/meters", meters.create),
    ("GET", "/v1/billing/meters", meters.list_),
    ("GET", "/v1/billing/meters/<meter_id>", meters.retrieve),
    ("POST", "/v1/billing/meters/<meter_id>", meters.update),
    ("POST", "/v1/billing/meters/<meter_id>/deactivate", meters.deactivate),
    ("POST", "/v1/billing/meters/<meter_id>/reactivate", meters.reactivate),
    ("GET", "/v1/billing/meters/<meter_id>/event_summaries", meters.event_summaries),
    ("POST", "/v1/billing/meter_events", meters.create_event),
    ("POST", "/v1/subscriptions", subscriptions.create),
    ("GET", "/v1/subscriptions", subscriptions.list_),
    ("GET", "/v1/subscriptions/<sub_id>", subscriptions.retrieve),
    ("POST", "/v1/subscriptions/<sub_id>", subscriptions.update),
    ("DELETE", "/v1/subscriptions/<sub_id>", subscriptions.cancel),
    ("POST", "/v1/subscriptions/<sub_id>/migrate", subscriptions.migrate),
    ("POST", "/v1/subscriptions/<sub_id>/resume", subscriptions.resume),
    ("GET", "/v1/subscription_items", subscription_items.list_),
    ("GET", "/v1/subscription_items/<item_id>", subscription_items.retrieve),
    ("POST", "/v1/invoices/create_preview", invoices.create_preview),
    ("GET", "/v1/invoices", invoices.list_),
    ("GET", "/v1/invoices/<invoice_id>", invoices.retrieve),
    ("POST", "/v1/invoices/<invoice_id>", invoices.update),
    ("POST", "/v1/invoices/<invoice_id>/finalize", invoices.finalize),
    ("GET", "/v1/invoices/<invoice_id>/lines", invoices.list_lines),
    ("POST", "/v1/invoices/<invoice_id>/pay", invoices.pay),
    ("POST", "/v1/invoices/<invoice_id>/void", invoices.void),
    ("POST", "/v1/invoices/<invoice_id>/mark_uncollectible", invoices.mark_uncollectible),
    ("GET", "/v1/invoiceitems", invoice_items.list_),
    ("GET", "/v1/invoiceitems/<item_id>", invoice_items.retrieve),
    ("POST", "/v1/webhook_endpoints", webhook_endpoints.create),
    ("GET", "/v1/webhook_endpoints", webhook_endpoints.list_),
    ("GET", "/v1/webhook_endpoints/<endpoint_id>", webhook_endpoints.retrieve),
    ("POST", "/v1/webhook_endpoints/<endpoint_id>", webhook_endpoints.update),
    ("DELETE", "/v1/webhook_endpoints/<endpoint_id>", webhook_endpoints.delete),
    ("POST", "/v1/checkout/sessions", checkout.create),
    ("GET", "/v1/checkout/sessions", checkout.list_),
    ("GET", "/v1/checkout/sessions/<session_id>", checkout.retrieve),
    ("GET", "/v1/checkout/sessions/<session_id>/line_items", checkout.list_line_items),
    ("POST", "/v1/checkout/sessions/<session_id>/expire", checkout.expire),
    ("GET", "/v1/setup_intents/<intent_id>", checkout.retrieve_setup_intent),
    ("POST", "/v1/billing_portal/sessions", billing_portal.create),
    ("GET", "/v1/events", events_api.list_),
    ("GET", "/v1/events/<event_id>", events_api.retrieve),
    ("POST", "/v2/core/event_destinations", event_destinations.create),
    ("GET", "/v2/core/event_destinations", event_destinations.list_),
    ("GET", "/v2/core/event_destinations/<destination_id>", event_destinations.retrieve),
    ("DELETE", "/v2/core/event_destinations/<destination_id>", event_destinations.delete),
    ("POST", "/v2/core/event_destinations/<destination_id>/disable", event_destinations.disable),
    ("POST", "/v2/core/event_destinations/<destination_id>/enable", event_destinations.enable),
    ("GET", "/v2/core/events", event_destinations.list_events),
    ("GET", "/v2/core/events/<event_id>", event_destinations.retrieve_event),
]

URL_MAP = Map([Rule(path, methods=[method], endpoint=(method, path)) for method, path, _ in ROUTES])
HANDLERS: dict[tuple[str, str], Handler] = {(m, p): h for m, p, h in ROUTES}
