"""Run the local Stripe server in-process for tests.

    with running_stripe_server() as server:
        stripe.api_base = server.url
        ...
        server.advance_period(sub.id)
        server.wait_for_webhooks()

Nothing global is changed: the caller points ``stripe.api_base`` (or a ``StripeClient``) at
``server.url``.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from .server import StripeServer


class StripeServerHandle:
    def __init__(self, server: StripeServer, secret_key: str | None) -> None:
        self.server = server
        self.url = server.url
        self.secret_key = secret_key

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, api_key: str | None = None
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            payload = exc.read().decode()
            raise RuntimeError(f"{method} {path} failed with {exc.code}: {payload}") from None

    def advance_period(
        self, subscription_id: str | None = None, *, finalize: bool = True
    ) -> dict[str, Any]:
        """Close the current period of one (or every live) subscription and renew it; with
        ``finalize`` (default) also move past the finalization grace period so that the
        renewal invoice is finalized and charged, else leave it a draft at the period end."""
        return self._call(
            "POST", "/_control/advance", {"subscription": subscription_id, "finalize": finalize}
        )

    def advance_to(self, epoch: int) -> dict[str, Any]:
        """Move the clock to ``epoch``, doing what is due on the way (renewals, finalizations,
        retries, trial ends), in time order, as a Stripe test clock does."""
        return self._call("POST", "/_control/advance", {"to": epoch})

    def settings(self, **changes: Any) -> dict[str, Any]:
        """The account's Dashboard-only settings (finalization grace period, retry schedule,
        what happens when retries are exhausted)."""
        return self._call("POST", "/_control/settings", changes)

    def set_now(self, epoch: int, frozen: bool = True) -> dict[str, Any]:
        return self._call("POST", "/_control/clock", {"now": epoch, "frozen": frozen})

    def now(self) -> int:
        return int(self._call("GET", "/_control/clock")["now"])

    def wait_for_webhooks(self, timeout: float = 10) -> None:
        """Block until every pending webhook delivery is done; raise on timeout."""
        try:
            self._call("POST", "/_control/webhooks/wait", {"timeout": timeout})
        except RuntimeError as exc:
            raise TimeoutError(f"webhook deliveries still pending after {timeout}s") from exc

    def deliveries(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_control/webhooks/deliveries")["data"]

    def retries_exhausted(self, subscription_id: str, outcome: str = "canceled") -> dict[str, Any]:
        return self._call(
            "POST",
            f"/_control/subscriptions/{subscription_id}/retries_exhausted",
            {"outcome": outcome},
        )

    def reset(self) -> None:
        self._call("POST", "/_control/reset", {})

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Every event (newest first), optionally of one type (``*`` wildcards allowed)."""
        key = self.secret_key or "sk_test_" + "0" * 32
        out: list[dict[str, Any]] = []
        params: dict[str, str] = {"limit": "100"}
        if type:
            params["type"] = type
        while True:
            page = self._call("GET", "/v1/events?" + urllib.parse.urlencode(params), api_key=key)
            out.extend(page["data"])
            if not page["has_more"]:
                return out
            params["starting_after"] = page["data"][-1]["id"]


@contextlib.contextmanager
def running_stripe_server(
    secret_key: str | None = None, state_file: str | None = None, host: str = "127.0.0.1"
) -> Iterator[StripeServerHandle]:
    """Start the server on a free loopback port in a daemon thread; stop it on exit.
    ``secret_key=None`` accepts any well-formed ``sk_test_`` key."""
    server = StripeServer(host, 0, state_file=state_file, secret_key=secret_key).start()
    try:
        yield StripeServerHandle(server, secret_key)
    finally:
        server.stop()
