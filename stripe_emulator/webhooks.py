"""Webhook delivery: signed by stripe-python's own helper, one ordered queue per endpoint,
retries.

Each endpoint gets a worker thread that posts its events in creation order and retries a
failed delivery a few times with a short backoff, so a slow or failing receiver never blocks
the API (the receiver may call the API back while handling an event).
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import Any

import stripe

logger = logging.getLogger(__name__)

# Short on purpose: tests wait for deliveries. Stripe itself retries for days.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)
TIMEOUT_SECONDS = 10.0
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass
class Delivery:
    endpoint_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    payload: bytes


class WebhookDispatcher:
    def __init__(self, on_delivered: Any = None) -> None:
        self._lock = threading.Condition()
        self._queues: dict[str, deque[Delivery]] = {}
        self._busy: set[str] = set()
        self._pending = 0
        self._stopped = False
        self._generation = 0
        self.attempts: list[dict[str, Any]] = []
        # Called (event_id) after a successful delivery, to count down pending_webhooks.
        self.on_delivered = on_delivered

    def enqueue(self, delivery: Delivery) -> None:
        with self._lock:
            if self._stopped:
                return
            self._queues.setdefault(delivery.endpoint_id, deque()).append(delivery)
            self._pending += 1
            if delivery.endpoint_id not in self._busy:
                self._busy.add(delivery.endpoint_id)
                thread = threading.Thread(
                    target=self._run,
                    args=(delivery.endpoint_id, self._generation),
                    name=f"stripe-webhooks-{delivery.endpoint_id}",
                    daemon=True,
                )
                thread.start()

    def _run(self, endpoint_id: str, generation: int) -> None:
        while True:
            with self._lock:
                queue = self._queues.get(endpoint_id)
                if self._stopped or generation != self._generation or not queue:
                    self._busy.discard(endpoint_id)
                    self._lock.notify_all()
                    return
                delivery = queue[0]
            self._deliver(delivery, generation)
            with self._lock:
                if generation == self._generation and queue and queue[0] is delivery:
                    queue.popleft()
                    self._pending -= 1
                self._lock.notify_all()

    def _deliver(self, delivery: Delivery, generation: int) -> None:
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS), start=1):
            if delay:
                time.sleep(delay)
            if self._stopped or generation != self._generation:
                return
            status, error = self._post(delivery)
            if not self._record(delivery, attempt, status, error, generation):
                return  # reset while posting: this attempt belongs to a forgotten past
            if status is not None and 200 <= status < 300:
                if self.on_delivered:
                    self.on_delivered(delivery.event_id)
                return
        logger.warning("giving up delivering %s to %s", delivery.event_id, delivery.url)

    def _post(self, delivery: Delivery) -> tuple[int | None, str | None]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            # Stripe's scheme (t=<ts>,v1=<hmac>) from the library's own signer. The timestamp is
            # wall-clock time, not the test clock: receivers check it against their clock.
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                delivery.payload.decode(), delivery.secret, int(time.time())
            ),
        }
        request = urllib.request.Request(  # noqa: S310 - endpoint URLs are http(s) by validation
            delivery.url, data=delivery.payload, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                response.read()
                return response.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (OSError, ValueError) as exc:
            return None, str(exc)

    def _record(
        self,
        delivery: Delivery,
        attempt: int,
        status: int | None,
        error: str | None,
        generation: int,
    ) -> bool:
        with self._lock:
            if generation != self._generation:
                return False
            self.attempts.append(
                {
                    "endpoint": delivery.endpoint_id,
                    "url": delivery.url,
                    "event_id": delivery.event_id,
                    "type": delivery.event_type,
                    "attempt": attempt,
                    "status": status,
                    "error": error,
                    "at": time.time(),
                }
            )
            return True

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued delivery has succeeded or been given up."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending > 0 or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def reset(self) -> None:
        """Drop queued deliveries and the attempt log (workers of the old generation stop)."""
        with self._lock:
            self._generation += 1
            self._queues.clear()
            self._busy.clear()
            self._pending = 0
            self.attempts = []
            self._lock.notify_all()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
