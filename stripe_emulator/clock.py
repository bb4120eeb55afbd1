"""The server's notion of "now", which tests can freeze and move (never backwards in billing)."""

from __future__ import annotations

import threading
import time
from typing import Any


class Clock:
    """Real time by default; ``set(epoch)`` freezes it there (or shifts it, with ``frozen=False``)
    so that proration and period arithmetic are deterministic in tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen: int | None = None

    def now(self) -> int:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return int(time.time() + self._offset)

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def set(self, epoch: int, *, frozen: bool = True) -> None:
        with self._lock:
            if frozen:
                self._frozen = int(epoch)
                self._offset = 0.0
            else:
                self._frozen = None
                self._offset = epoch - time.time()

    def advance_to(self, epoch: int) -> None:
        """Move forward to ``epoch`` if it is later, keeping the frozen/flowing mode."""
        if epoch > self.now():
            self.set(epoch, frozen=self.frozen)

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen = None

    def to_json(self) -> dict[str, Any]:
        return {"frozen": self._frozen, "offset": self._offset}

    def load(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._frozen = data.get("frozen")
            self._offset = float(data.get("offset") or 0.0)
