"""Fixtures for the local Stripe server's own tests: one server per module (reset per test),
the real ``stripe`` library pointed at it, and a tiny webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from stripe_emulator import API_VERSION
from stripe_emulator.testing import StripeServerHandle, running_stripe_server

API_KEY = "sk_test_" + "Pet5t0reL0ca1Te5tKey0123456789ab"
# 2026-06-01 00:00:00 UTC: a fixed "now" so that period and proration maths is exact.
JUNE_1 = 1780272000


@pytest.fixture(scope="module")
def _server() -> Iterator[StripeServerHandle]:
    with running_stripe_server() as server:
        yield server


@pytest.fixture
def server(_server: StripeServerHandle) -> Iterator[StripeServerHandle]:
    _server.reset()
    _server.set_now(JUNE_1)
    saved = (stripe.api_base, stripe.api_key, stripe.api_version, stripe.max_network_retries)
    stripe.api_base = _server.url
    stripe.api_key = API_KEY
    stripe.api_version = API_VERSION
    stripe.max_network_retries = 0  # surface errors instead of retrying them
    try:
        yield _server
    finally:
        stripe.api_base, stripe.api_key, stripe.api_version, stripe.max_network_retries = saved


@pytest.fixture
def client(server: StripeServerHandle) -> stripe.StripeClient:
    return stripe.StripeClient(
        API_KEY, base_addresses={"api": server.url}, stripe_version=API_VERSION
    )


class Receiver:
    """Collects webhook POSTs; ``status`` makes it answer with an error (to test retries)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.on_event: Any = None  # called with the body before answering
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = outer.statuses.pop(0) if outer.statuses else 200
                if outer.on_event is not None and status == 200:
                    outer.on_event(body)
                outer.requests.append(
                    {"headers": dict(self.headers), "body": body, "status": status}
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhook/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests if r["status"] == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.thread.start()
    try:
        yield rec
    finally:
        rec.httpd.shutdown()
        rec.httpd.server_close()


@pytest.fixture
def customer_with_card(server: StripeServerHandle) -> Any:
    customer = stripe.Customer.create(email="buyer@example.com", name="Buyer")
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    return stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": pm.id})
