"""The in-memory store: every object the API returns, kept in Stripe's shape.

One re-entrant lock serialises requests (the server is a test double; simplicity beats
throughput). Each mutating request runs in a transaction that journals the first version of
every object it touches, so a request that fails halfway (a declined card with
``payment_behavior=error_if_incomplete``) leaves no trace, and previews can run the real
billing code and roll it back. Events are buffered in the transaction and only stored and
delivered when the outermost transaction commits.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clock import Clock

logger = logging.getLogger(__name__)

KINDS = (
    "customer",
    "payment_method",
    "product",
    "price",
    "meter",
    "subscription",
    "subscription_item",
    "invoice",
    "invoice_item",
    "webhook_endpoint",
    "event",
    "event_destination",
    "v2_event",
    "checkout_session",
    "setup_intent",
    "billing_portal_session",
    "coupon",
    "promotion_code",
    "discount",
    "credit_grant",
    "credit_balance_transaction",
    "customer_balance_transaction",
)
_ABSENT = object()
STATE_VERSION = 1
# Account settings that Stripe keeps in the Dashboard (not the API); ``/_control/settings``.
DEFAULT_SETTINGS: dict[str, Any] = {
    # Invoice finalization grace period: renewal drafts finalize this long after creation
    # (Stripe's default 1 hour, at most 72 hours).
    "invoice_finalization_grace_period": 3600,
    # Automatic payment retries of failed renewals, in days after the first failure
    # (Stripe's Smart Retries / custom schedule); none unless configured.
    "payment_retry_days": [],
    # What happens when the retries are exhausted: "cancel", "unpaid" or "past_due".
    "retries_exhausted_subscription": "cancel",
}


@dataclass
class PendingEvent:
    type: str
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None
    request_id: str | None
    idempotency_key: str | None
    created: int | None = None
    # API v2 events (thin events to event destinations): what they are about, and their data.
    v2: bool = False
    related_object: dict[str, Any] | None = None


@dataclass
class Transaction:
    journal: dict[tuple[str, str], Any] = field(default_factory=dict)
    meter_events_len: int = 0
    events: list[PendingEvent] = field(default_factory=list)
    dirty: bool = False


class Store:
    def __init__(self, state_file: str | os.PathLike[str] | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.state_file = Path(state_file) if state_file else None
        self._objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self._kind_of: dict[str, str] = {}
        self._seq = 0
        self.meter_events: list[dict[str, Any]] = []
        self.settings: dict[str, Any] = copy.deepcopy(DEFAULT_SETTINGS)
        self._stack: list[Transaction] = []
        # Called with the stored event records after each outermost commit (webhook delivery).
        self.on_events: Callable[[list[dict[str, Any]]], None] | None = None
        # Builds an event record from a PendingEvent (set by the events module).
        self.make_event: Callable[[PendingEvent], dict[str, Any]] | None = None
        if self.state_file and self.state_file.exists():
            self._load()

    # -- reading -------------------------------------------------------------------------
    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        """The live record; callers must not mutate it (use ``get_mut``)."""
        return self._objects[kind].get(object_id)

    def kind_of(self, object_id: str) -> str | None:
        return self._kind_of.get(object_id)

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Records newest first, as Stripe lists them."""
        return sorted(self._objects[kind].values(), key=lambda o: o["_seq"], reverse=True)

    def exists(self, object_id: str) -> bool:
        return object_id in self._kind_of

    # -- writing (journaled) -------------------------------------------------------------
    def _journal(self, kind: str, object_id: str) -> None:
        if not self._stack:
            raise RuntimeError("store mutation outside a transaction")
        tx = self._stack[-1]
        tx.dirty = True
        key = (kind, object_id)
        if key not in tx.journal:
            current = self._objects[kind].get(object_id, _ABSENT)
            tx.journal[key] = current if current is _ABSENT else copy.deepcopy(current)

    def get_mut(self, kind: str, object_id: str) -> dict[str, Any]:
        self._journal(kind, object_id)
        return self._objects[kind][object_id]

    def insert(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        object_id = record["id"]
        self._journal(kind, object_id)
        self._seq += 1
        record["_seq"] = self._seq
        self._objects[kind][object_id] = record
        self._kind_of[object_id] = kind
        return record

    def delete(self, kind: str, object_id: str) -> None:
        self._journal(kind, object_id)
        self._objects[kind].pop(object_id, None)
        self._kind_of.pop(object_id, None)

    def add_meter_event(self, event: dict[str, Any]) -> None:
        if not self._stack:
            raise RuntimeError("store mutation outside a transaction")
        self._stack[-1].dirty = True
        self.meter_events.append(event)

    def emit(self, event: PendingEvent, at: int | None = None) -> None:
        if not self._stack:
            raise RuntimeError("event outside a transaction")
        events = self._stack[-1].events
        if at is None:
            events.append(event)
        else:
            events.insert(at, event)

    def event_mark(self) -> int:
        """Position in the current transaction's event buffer (to emit an event before others
        that were produced while computing it)."""
        return len(self._stack[-1].events) if self._stack else 0

    # -- transactions --------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[Transaction]:
        """Commit on success (or on an error that asks to keep its changes); roll back on any
        other error, or always when ``rollback`` (previews)."""
        with self.lock:
            tx = Transaction(meter_events_len=len(self.meter_events))
            self._stack.append(tx)
            try:
                yield tx
            except BaseException as exc:
                if getattr(exc, "keep_changes", False) and not rollback:
                    self._commit(tx)
                else:
                    self._rollback(tx)
                raise
            else:
                if rollback:
                    self._rollback(tx)
                else:
                    self._commit(tx)

    def _rollback(self, tx: Transaction) -> None:
        self._stack.pop()
        for (kind, object_id), original in tx.journal.items():
            if original is _ABSENT:
                self._objects[kind].pop(object_id, None)
                self._kind_of.pop(object_id, None)
            else:
                self._objects[kind][object_id] = original
                self._kind_of[object_id] = kind
        del self.meter_events[tx.meter_events_len :]

    def _commit(self, tx: Transaction) -> None:
        self._stack.pop()
        if self._stack:  # nested: hand the journal and events to the enclosing transaction
            outer = self._stack[-1]
            for key, original in tx.journal.items():
                outer.journal.setdefault(key, original)
            outer.events.extend(tx.events)
            outer.dirty = outer.dirty or tx.dirty
            return
        stored = [self._store_event(pending) for pending in tx.events]
        if tx.dirty or stored:
            self.save()
        if stored and self.on_events:
            self.on_events(stored)

    def _store_event(self, pending: PendingEvent) -> dict[str, Any]:
        assert self.make_event is not None
        record = self.make_event(pending)
        kind = "v2_event" if pending.v2 else "event"
        self._seq += 1
        record["_seq"] = self._seq
        self._objects[kind][record["id"]] = record
        self._kind_of[record["id"]] = kind
        return record

    def touch_event(self, event_id: str, **changes: Any) -> None:
        """Bookkeeping outside requests (webhook delivery results); not journaled."""
        with self.lock:
            event = self._objects["event"].get(event_id)
            if event is not None:
                event.update(changes)

    # -- reset & persistence -------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self._objects = {k: {} for k in KINDS}
            self._kind_of = {}
            self.meter_events = []
            self.settings = copy.deepcopy(DEFAULT_SETTINGS)
            self.clock.reset()
            self.save()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "seq": self._seq,
            "clock": self.clock.to_json(),
            "objects": self._objects,
            "meter_events": self.meter_events,
            "settings": self.settings,
        }

    def save(self) -> None:
        if not self.state_file:
            return
        with self.lock:
            data = json.dumps(self.to_json(), separators=(",", ":"))
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            # Write-then-rename so a crash never leaves half a state file behind.
            fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".stripe-state-")
            with os.fdopen(fd, "w") as fh:
                fh.write(data)
            os.replace(tmp, self.state_file)

    def _load(self) -> None:
        assert self.state_file is not None
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            logger.warning("ignoring unreadable state file %s", self.state_file)
            return
        if data.get("version") != STATE_VERSION:
            logger.warning("ignoring state file %s of another version", self.state_file)
            return
        self._seq = int(data.get("seq", 0))
        self.clock.load(data.get("clock") or {})
        objects = data.get("objects") or {}
        for kind in KINDS:
            self._objects[kind] = objects.get(kind, {})
            for object_id in self._objects[kind]:
                self._kind_of[object_id] = kind
        self.meter_events = data.get("meter_events") or []
        self.settings = {**copy.deepcopy(DEFAULT_SETTINGS), **(data.get("settings") or {})}
