"""Routing and the request pipeline: authentication, parameter decoding, idempotency,
transactions and Stripe's response headers and error bodies.

API routes (``/v1/...``) need ``Authorization: Bearer sk_test_...`` (or HTTP basic with the
key as user name, as curl's ``-u`` sends it). Control routes (``/_control/...``) are this
server's own, for tests: no authentication, JSON or form bodies.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from . import API_VERSION
from .context import Ctx, Server
from .errors import StripeError, unrecognized_url
from .ids import new_id
from .params import Params, decode_form
from .resources import (
    account,
    customers,
    events_api,
    invoices,
    meters,
    payment_methods,
    prices,
    products,
    subscriptions,
    webhook_endpoints,
)

logger = logging.getLogger(__name__)

Handler = Callable[..., Any]
KEY_PATTERN = re.compile(r"^(sk|rk)_test_[A-Za-z0-9]{24,}$")
IDEMPOTENCY_TTL = 24 * 3600

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", r"/v1/account", account.retrieve),
    ("POST", r"/v1/customers", customers.create),
    ("GET", r"/v1/customers", customers.list_),
    ("GET", r"/v1/customers/(?P<customer_id>[^/]+)", customers.retrieve),
    ("POST", r"/v1/customers/(?P<customer_id>[^/]+)", customers.update),
    ("DELETE", r"/v1/customers/(?P<customer_id>[^/]+)", customers.delete),
    (
        "GET",
        r"/v1/customers/(?P<customer_id>[^/]+)/payment_methods",
        payment_methods.list_for_customer,
    ),
    (
        "GET",
        r"/v1/customers/(?P<customer_id>[^/]+)/payment_methods/(?P<pm_id>[^/]+)",
        payment_methods.retrieve_for_customer,
    ),
    ("POST", r"/v1/payment_methods", payment_methods.create),
    ("GET", r"/v1/payment_methods", payment_methods.list_),
    ("GET", r"/v1/payment_methods/(?P<pm_id>[^/]+)", payment_methods.retrieve),
    ("POST", r"/v1/payment_methods/(?P<pm_id>[^/]+)", payment_methods.update),
    ("POST", r"/v1/payment_methods/(?P<pm_id>[^/]+)/attach", payment_methods.attach),
    ("POST", r"/v1/payment_methods/(?P<pm_id>[^/]+)/detach", payment_methods.detach),
    ("POST", r"/v1/products", products.create),
    ("GET", r"/v1/products", products.list_),
    ("GET", r"/v1/products/(?P<product_id>[^/]+)", products.retrieve),
    ("POST", r"/v1/products/(?P<product_id>[^/]+)", products.update),
    ("DELETE", r"/v1/products/(?P<product_id>[^/]+)", products.delete),
    ("GET", r"/v1/products/(?P<product_id>[^/]+)/features", products.list_features),
    ("POST", r"/v1/prices", prices.create),
    ("GET", r"/v1/prices", prices.list_),
    ("GET", r"/v1/prices/(?P<price_id>[^/]+)", prices.retrieve),
    ("POST", r"/v1/prices/(?P<price_id>[^/]+)", prices.update),
    ("POST", r"/v1/billing/meters", meters.create),
    ("GET", r"/v1/billing/meters", meters.list_),
    ("GET", r"/v1/billing/meters/(?P<meter_id>[^/]+)", meters.retrieve),
    ("POST", r"/v1/billing/meters/(?P<meter_id>[^/]+)", meters.update),
    ("POST", r"/v1/billing/meters/(?P<meter_id>[^/]+)/deactivate", meters.deactivate),
    ("POST", r"/v1/billing/meters/(?P<meter_id>[^/]+)/reactivate", meters.reactivate),
    ("GET", r"/v1/billing/meters/(?P<meter_id>[^/]+)/event_summaries", meters.event_summaries),
    ("POST", r"/v1/billing/meter_events", meters.create_event),
    ("POST", r"/v1/subscriptions", subscriptions.create),
    ("GET", r"/v1/subscriptions", subscriptions.list_),
    ("GET", r"/v1/subscriptions/(?P<sub_id>[^/]+)", subscriptions.retrieve),
    ("POST", r"/v1/subscriptions/(?P<sub_id>[^/]+)", subscriptions.update),
    ("DELETE", r"/v1/subscriptions/(?P<sub_id>[^/]+)", subscriptions.cancel),
    ("GET", r"/v1/subscription_items", subscriptions.list_items),
    ("GET", r"/v1/subscription_items/(?P<item_id>[^/]+)", subscriptions.retrieve_item),
    ("POST", r"/v1/invoices/create_preview", invoices.create_preview),
    ("GET", r"/v1/invoices", invoices.list_),
    ("GET", r"/v1/invoices/(?P<invoice_id>[^/]+)", invoices.retrieve),
    ("GET", r"/v1/invoices/(?P<invoice_id>[^/]+)/lines", invoices.list_lines),
    ("POST", r"/v1/invoices/(?P<invoice_id>[^/]+)/pay", invoices.pay),
    ("POST", r"/v1/invoices/(?P<invoice_id>[^/]+)/void", invoices.void),
    ("GET", r"/v1/invoiceitems", invoices.list_items),
    ("GET", r"/v1/invoiceitems/(?P<item_id>[^/]+)", invoices.retrieve_item),
    ("POST", r"/v1/webhook_endpoints", webhook_endpoints.create),
    ("GET", r"/v1/webhook_endpoints", webhook_endpoints.list_),
    ("GET", r"/v1/webhook_endpoints/(?P<endpoint_id>[^/]+)", webhook_endpoints.retrieve),
    ("POST", r"/v1/webhook_endpoints/(?P<endpoint_id>[^/]+)", webhook_endpoints.update),
    ("DELETE", r"/v1/webhook_endpoints/(?P<endpoint_id>[^/]+)", webhook_endpoints.delete),
    ("GET", r"/v1/events", events_api.list_),
    ("GET", r"/v1/events/(?P<event_id>[^/]+)", events_api.retrieve),
]
_COMPILED = [(m, re.compile(p + r"/?\Z"), h) for m, p, h in ROUTES]


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class _Replay:
    fingerprint: tuple[str, str, str]
    response: Response
    stored_at: float


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload, indent=2).encode(), dict(headers or {}))


class App:
    """Turns (method, path, query, headers, body) into a ``Response``."""

    def __init__(self, server: Server, secret_key: str | None = None) -> None:
        self.server = server
        self.secret_key = secret_key
        self._idempotency: dict[tuple[str, str], _Replay] = {}
        self._in_flight: set[tuple[str, str]] = set()
        self._idem_lock = threading.Lock()
        self.control: Callable[[str, str, dict[str, Any]], Response] | None = None

    # -- entry point ---------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        request_id = new_id("req", 14)
        base_headers = {
            "Request-Id": request_id,
            "Stripe-Version": headers.get("stripe-version") or API_VERSION,
        }
        try:
            if path.startswith("/_control/"):
                if self.control is None:
                    raise unrecognized_url(method, path)
                return self.control(method, path, _control_body(query, headers, body))
            if path.startswith("/hosted/invoices/"):
                return self._hosted(path)
            api_key = self._authenticate(headers)
            response = self._api(method, path, query, headers, body, api_key, request_id)
        except StripeError as exc:
            response = self._error(exc)
        except Exception:
            logger.error("unhandled error for %s %s\n%s", method, path, traceback.format_exc())
            response = json_response(
                500,
                {
                    "error": {
                        "type": "api_error",
                        "message": "An unexpected error occurred in the local Stripe server.",
                    }
                },
            )
        response.headers = {**base_headers, **response.headers}
        return response

    def _error(self, exc: StripeError) -> Response:
        headers = {"Stripe-Should-Retry": "false"} if exc.status < 500 else {}
        return json_response(exc.status, exc.body(), headers)

    # -- authentication ------------------------------------------------------------------
    def _authenticate(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        key = ""
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        elif auth.lower().startswith("basic "):
            try:
                key = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
            )
        valid = KEY_PATTERN.match(key) and (self.secret_key is None or key == self.secret_key)
        if not valid:
            raise StripeError(401, f"Invalid API Key provided: {_redact(key)}")
        return key

    # -- API -----------------------------------------------------------------------------
    def _route(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        for route_method, pattern, handler in _COMPILED:
            match = pattern.match(path)
            if match and route_method == method:
                return handler, match.groupdict()
        raise unrecognized_url(method, path)

    def _api(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        api_key: str,
        request_id: str,
    ) -> Response:
        handler, path_params = self._route(method, path)
        pairs = parse_qsl(query, keep_blank_values=True)
        if method == "POST":
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params = Params(decode_form(pairs))
        idem_key = headers.get("idempotency-key") if method in ("POST", "DELETE") else None
        if idem_key is None:
            return self._execute(
                handler, path_params, params, method, path, request_id, None, api_key
            )
        slot = (api_key, idem_key)
        fingerprint = (method, path, json.dumps(params.data, sort_keys=True))
        replay = self._claim(slot, fingerprint)
        if replay is not None:
            return replay
        try:
            response = self._execute(
                handler, path_params, params, method, path, request_id, idem_key, api_key
            )
            response.headers["Idempotency-Key"] = idem_key
            # Stripe saves the result once an endpoint ran (including card declines), not for
            # requests rejected before executing (bad parameters) or server errors.
            if response.status < 400 or response.status == 402:
                with self._idem_lock:
                    self._idempotency[slot] = _Replay(fingerprint, response, time.time())
            return response
        finally:
            with self._idem_lock:
                self._in_flight.discard(slot)

    def _claim(self, slot: tuple[str, str], fingerprint: tuple[str, str, str]) -> Response | None:
        with self._idem_lock:
            now = time.time()
            saved = self._idempotency.get(slot)
            if saved is not None and now - saved.stored_at > IDEMPOTENCY_TTL:
                del self._idempotency[slot]
                saved = None
            if saved is not None:
                if saved.fingerprint != fingerprint:
                    raise StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{slot[1]}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                original = saved.response
                return Response(
                    original.status,
                    original.body,
                    {**original.headers, "Idempotent-Replayed": "true"},
                    original.content_type,
                )
            if slot in self._in_flight:
                raise StripeError(
                    409,
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    "going through). Please retry your request.",
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                )
            self._in_flight.add(slot)
            return None

    def _execute(
        self,
        handler: Handler,
        path_params: dict[str, str],
        params: Params,
        method: str,
        path: str,
        request_id: str,
        idem_key: str | None,
        api_key: str,
    ) -> Response:
        ctx = Ctx(
            server=self.server,
            params=params,
            method=method,
            path=path,
            request_id=request_id,
            idempotency_key=idem_key,
            api_key=api_key,
        )
        store = self.server.store
        events = self.server.events
        with store.lock:
            events.request_id, events.idempotency_key = request_id, idem_key
            try:
                if method == "GET":
                    payload = handler(ctx, **path_params)
                else:
                    with store.transaction():
                        payload = handler(ctx, **path_params)
            finally:
                events.request_id = events.idempotency_key = None
        return json_response(200, payload)

    # -- hosted invoice page -------------------------------------------------------------
    def _hosted(self, path: str) -> Response:
        invoice_id = path[len("/hosted/invoices/") :].split("/")[0]
        ctx = Ctx(server=self.server, params=Params({}))
        with self.server.store.lock:
            page = invoices.hosted_page(ctx, invoice_id)
        return Response(200, page.encode(), content_type="text/html; charset=utf-8")

    def reset_idempotency(self) -> None:
        with self._idem_lock:
            self._idempotency.clear()


def _redact(key: str) -> str:
    return f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"


def _control_body(query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        if "json" in headers.get("content-type", ""):
            loaded = json.loads(body or b"{}")
            if isinstance(loaded, dict):
                data.update(loaded)
        else:
            data.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return data
