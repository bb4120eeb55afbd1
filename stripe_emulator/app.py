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
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as WSGIResponse

from . import API_VERSION
from .context import Ctx, Server
from .definitions import request_type
from .errors import StripeError, unrecognized_url
from .ids import new_id
from .params import Params, as_wire, decode_form
from .resources import billing_portal, checkout, invoices
from .routes import HANDLERS, URL_MAP, Handler
from .strict import conform

logger = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^(sk|rk)_test_[A-Za-z0-9]{24,}$")
IDEMPOTENCY_TTL = 24 * 3600
# Stripe's definition of each route's parameters, found once (a route without one is a bug).
DEFINITIONS: dict[tuple[str, str], type] = {key: request_type(*key) for key in HANDLERS}


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
    """The WSGI application: werkzeug parses the request and routes it; ``handle`` answers."""

    def __init__(self, server: Server, secret_key: str | None = None) -> None:
        self.server = server
        self.secret_key = secret_key
        self._idempotency: dict[tuple[str, str], _Replay] = {}
        self._in_flight: set[tuple[str, str]] = set()
        self._idem_lock = threading.Lock()
        self.control: Callable[[str, str, dict[str, Any]], Response] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.handle(Request(environ))
        wsgi = WSGIResponse(response.body, response.status, content_type=response.content_type)
        wsgi.headers.update(response.headers)
        return wsgi(environ, start_response)

    # -- entry point ---------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        request_id = new_id("req", 14)
        base_headers = {
            "Request-Id": request_id,
            "Stripe-Version": request.headers.get("Stripe-Version") or API_VERSION,
        }
        method, path = request.method, request.path
        try:
            if path.startswith("/_control/"):
                if self.control is None:
                    raise unrecognized_url(method, path)
                return self.control(method, path, _control_body(request))
            if path.startswith("/hosted/invoices/"):
                return self._hosted(path)
            if path.startswith(("/c/pay/", "/p/session/")):
                return self._hosted_session(request)
            api_key = self._authenticate(request)
            response = self._api(request, api_key, request_id)
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
    def _authenticate(self, request: Request) -> str:
        auth = request.headers.get("Authorization", "")
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
    def _route(self, method: str, path: str) -> tuple[tuple[str, str], dict[str, str]]:
        # Stripe ignores a trailing slash (``/v1/customers/``).
        adapter = URL_MAP.bind("stripe.local")
        try:
            rule, path_params = adapter.match(path.rstrip("/") or "/", method=method)
        except (NotFound, MethodNotAllowed):
            raise unrecognized_url(method, path) from None
        return rule, path_params

    def _api(self, request: Request, api_key: str, request_id: str) -> Response:
        method, path = request.method, request.path
        rule, path_params = self._route(method, path)
        handler = HANDLERS[rule]
        # stripe-python sends GET and DELETE parameters in the query, POST ones in the body.
        pairs = list(request.args.items(multi=True))
        body: dict[str, Any] = {}
        if path.startswith("/v2/"):
            # API v2 takes JSON bodies; checked in the same wire form as v1's.
            if method == "POST" and request.get_data():
                loaded = request.get_json(silent=True, force=True)
                if not isinstance(loaded, dict):
                    raise StripeError(400, "The request body is not a JSON object.")
                body = as_wire(loaded)
        elif method == "POST":
            pairs += list(request.form.items(multi=True))
        params = Params(conform({**decode_form(pairs), **body}, DEFINITIONS[rule]))
        idem_key = request.headers.get("Idempotency-Key") if method in ("POST", "DELETE") else None
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
                    self._idempotency[slot] = _Replay(
                        fingerprint, response, self.server.store.clock.now()
                    )
            return response
        finally:
            with self._idem_lock:
                self._in_flight.discard(slot)

    def _claim(self, slot: tuple[str, str], fingerprint: tuple[str, str, str]) -> Response | None:
        with self._idem_lock:
            # Stripe removes keys once they are at least 24 hours old; on this server's clock,
            # so that tests can move past it.
            now = self.server.store.clock.now()
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

    # -- hosted Checkout and portal pages ------------------------------------------------
    def _hosted_session(self, request: Request) -> Response:
        """``GET`` shows the page; ``POST`` (its form) acts, then redirects (Checkout done) or
        shows the page again with a message (a card error, a portal change)."""
        is_checkout = request.path.startswith("/c/pay/")
        module = checkout if is_checkout else billing_portal
        session_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        store = self.server.store
        ctx = Ctx(server=self.server, params=Params({}), method=request.method, path=request.path)
        message = None
        with store.lock:
            if request.method == "POST":
                form = dict(request.form.items())
                try:
                    with store.transaction():
                        outcome = module.submit(ctx, session_id, form)
                except StripeError as exc:
                    if exc.status == 404:
                        raise
                    message = exc.message
                else:
                    if is_checkout:
                        return Response(303, b"", {"Location": outcome}, "text/html")
                    message = outcome
            page = module.hosted_page(ctx, session_id, message)
        return Response(200, page.encode(), content_type="text/html; charset=utf-8")

    def reset_idempotency(self) -> None:
        with self._idem_lock:
            self._idempotency.clear()


def _redact(key: str) -> str:
    return f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"


def _control_body(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = dict(request.args.items())
    if request.is_json:
        loaded = request.get_json(silent=True)
        if isinstance(loaded, dict):
            data.update(loaded)
    else:
        data.update(request.form.items())
    return data
