"""Billing tests run the real `stripe` library and dj-stripe against the local Stripe server
(the `stripe_server` fixture is in tests/conftest.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe
from django.urls import reverse

from billing.webhooks.endpoint import webhook_endpoint_ensure


class WebhookRelay:
    """Posts the server's events to dj-stripe's endpoint through the Django test client, signed
    with the endpoint's real secret, as Stripe would deliver them."""

    def __init__(self, server, client, endpoint):
        self.server, self.client, self.endpoint = server, client, endpoint
        self.seen: set[str] = set()
        self.url = reverse(
            "djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid}
        )

    def post(self, event: dict, *, secret: str | None = None):
        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(
            payload, secret or self.endpoint.secret
        )
        return self.client.post(
            self.url, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )

    def deliver(self, *types: str) -> list[dict]:
        """Deliver every event not delivered yet (oldest first), optionally only some types."""
        delivered = []
        for event in reversed(self.server.events()):
            if event["id"] in self.seen or (types and event["type"] not in types):
                continue
            self.seen.add(event["id"])
            response = self.post(event)
            assert response.status_code == 200, (event["type"], response.content)
            delivered.append(event)
        return delivered

    def skip_all(self) -> None:
        self.seen.update(event["id"] for event in self.server.events())


@pytest.fixture
def webhooks(stripe_server, client):
    # An address where nothing listens: the server's own deliveries fail quietly, and the
    # tests deliver through the Django test client instead.
    endpoint = webhook_endpoint_ensure(base_url="http://127.0.0.1:9")
    return WebhookRelay(stripe_server, client, endpoint)


class ThinEventRelay:
    """Stripe's v2 thin events as the local server sends them to the event destination that
    `setup_stripe` registers (on a small capturing server here), posted on to our endpoint
    through the Django test client with their own signatures."""

    def __init__(self, server, client):
        self.server, self.client = server, client
        self.requests: list[dict] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                relay.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def deliver(self, *, tamper: bool = False) -> list:
        """Post every captured delivery to our endpoint; returns the responses."""
        self.server.wait_for_webhooks()
        responses = []
        for request in self.requests:
            body = request["body"] + (b" " if tamper else b"")
            responses.append(
                self.client.post(
                    request["path"],
                    body,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=request["headers"]["Stripe-Signature"],
                )
            )
        return responses

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def thin_events(stripe_server, client):
    from billing.webhooks.thin import event_destination_ensure

    relay = ThinEventRelay(stripe_server, client)
    relay.destination = event_destination_ensure(base_url=relay.base_url)
    yield relay
    relay.close()
