"""This server's own endpoints for tests (not Stripe's API), under ``/_control/``:

* ``POST /_control/advance`` ``{"subscription": "sub_..."}`` (optional): move the clock to the
  end of the subscription's (or every live subscription's) current period and renew it:
  close the period, make the renewal invoice (a draft: licensed items of the next period plus
  the metered usage of the closed one), then (unless ``"finalize": false``) move on past the
  finalization grace period so that the draft is finalized and charged; end the subscription
  if it was set to cancel at period end; expire it if it is still incomplete.
* ``POST /_control/advance`` ``{"to": epoch}``: move the clock to ``epoch`` doing everything
  due on the way, in time order (renewals, trial ends and ``trial_will_end``, draft
  finalizations, configured payment retries), as a Stripe test clock does.
* ``GET /_control/settings`` / ``POST /_control/settings`` ``{...}``: the account settings
  Stripe keeps in its Dashboard only: ``invoice_finalization_grace_period`` (seconds, 0 to
  72 h, default 3600), ``payment_retry_days`` (automatic retries, days after the previous
  attempt; default none), ``retries_exhausted_subscription`` (``cancel``, ``unpaid`` or
  ``past_due``).
* ``GET /_control/clock`` / ``POST /_control/clock`` ``{"now": epoch, "frozen": true}``.
* ``POST /_control/webhooks/wait`` ``{"timeout": 10}``: wait for pending deliveries (408 if
  they are still pending at the timeout).
* ``GET /_control/webhooks/deliveries``: every delivery attempt (url, event id, type, status).
* ``POST /_control/subscriptions/{id}/retries_exhausted`` ``{"outcome": "canceled"|"unpaid"}``:
  what Stripe does when dunning gives up on a past_due subscription.
* ``POST /_control/reset``: forget everything (state, clock, deliveries, idempotency keys).
"""

from __future__ import annotations

import re
from typing import Any

from .app import App, Response, json_response
from .context import Ctx
from .errors import StripeError, unrecognized_url
from .params import Params
from .resources import subscriptions
from .webhooks import WebhookDispatcher

MAX_FINALIZATION_GRACE = 72 * 3600


def _checked_settings(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "invoice_finalization_grace_period":
            seconds = int(value)
            if not 0 <= seconds <= MAX_FINALIZATION_GRACE:
                raise StripeError(
                    400, "invoice_finalization_grace_period is 0 to 72 hours (259200 s).", param=key
                )
            out[key] = seconds
        elif key == "payment_retry_days":
            days = [int(d) for d in (value or [])]
            if days != sorted(days) or any(d < 1 for d in days) or len(days) > 8:
                raise StripeError(
                    400, "payment_retry_days: up to 8 increasing days after the failure.", param=key
                )
            out[key] = days
        elif key == "retries_exhausted_subscription":
            if value not in ("cancel", "unpaid", "past_due"):
                raise StripeError(400, f"{key} is cancel, unpaid or past_due.", param=key)
            out[key] = value
        else:
            raise StripeError(400, f"Unknown setting: {key}", param=key)
    return out


class Control:
    def __init__(self, app: App, dispatcher: WebhookDispatcher) -> None:
        self.app = app
        self.dispatcher = dispatcher
        app.control = self.handle

    def handle(self, method: str, path: str, body: dict[str, Any]) -> Response:
        route = path[len("/_control") :].rstrip("/")
        if method == "POST" and route == "/advance":
            return self._advance(body)
        if route == "/settings":
            return self._settings(method, body)
        if route == "/clock":
            return self._clock(method, body)
        if method == "POST" and route == "/webhooks/wait":
            done = self.dispatcher.wait_idle(float(body.get("timeout") or 10))
            return json_response(200 if done else 408, {"done": done})
        if method == "GET" and route == "/webhooks/deliveries":
            return json_response(200, {"object": "list", "data": list(self.dispatcher.attempts)})
        match = re.fullmatch(r"/subscriptions/([^/]+)/retries_exhausted", route)
        if method == "POST" and match:
            return self._retries_exhausted(match.group(1), body.get("outcome") or "canceled")
        if method == "POST" and route == "/reset":
            self.dispatcher.reset()
            self.app.reset_idempotency()
            self.app.server.store.reset()
            return json_response(200, {"reset": True})
        raise unrecognized_url(method, path)

    def _ctx(self) -> Ctx:
        return Ctx(server=self.app.server, params=Params({}), method="POST", path="/_control")

    def _advance(self, body: dict[str, Any]) -> Response:
        store = self.app.server.store
        to = body.get("to")
        finalize = str(body.get("finalize", "true")).lower() not in ("false", "0")
        with store.lock, store.transaction():
            result = subscriptions.control_advance(
                self._ctx(),
                body.get("subscription") or None,
                finalize=finalize,
                to=None if to in (None, "") else int(to),
            )
        return json_response(200, result)

    def _settings(self, method: str, body: dict[str, Any]) -> Response:
        store = self.app.server.store
        if method == "POST":
            with store.lock:
                changes = _checked_settings(body)
                store.settings.update(changes)
                store.save()
        return json_response(200, dict(store.settings))

    def _clock(self, method: str, body: dict[str, Any]) -> Response:
        clock = self.app.server.store.clock
        if method == "POST":
            if "now" not in body:
                raise StripeError(400, "Missing required param: now.", param="now")
            frozen = str(body.get("frozen", "true")).lower() not in ("false", "0")
            with self.app.server.store.lock:
                clock.set(int(body["now"]), frozen=frozen)
                self.app.server.store.save()
        return json_response(200, {"now": clock.now(), "frozen": clock.frozen})

    def _retries_exhausted(self, sub_id: str, outcome: str) -> Response:
        if outcome not in ("canceled", "unpaid"):
            raise StripeError(400, "outcome must be canceled or unpaid", param="outcome")
        from .billing import Billing

        store = self.app.server.store
        ctx = self._ctx()
        with store.lock, store.transaction():
            sub = Billing(ctx).retries_exhausted(sub_id, outcome)
            payload = ctx.render("subscription", sub)
        return json_response(200, payload)
