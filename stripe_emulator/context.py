"""What a request handler gets: the store, event emitter, parameters, and server settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import Events
from .params import Params
from .render import render
from .state import Store


@dataclass
class Server:
    """Long-lived parts shared by every request."""

    store: Store
    events: Events
    base_url: str = "http://127.0.0.1:12111"
    account_id: str = "acct_1PetStoreLocal00"


@dataclass
class Ctx:
    server: Server
    params: Params
    method: str = "GET"
    path: str = "/"
    request_id: str = ""
    idempotency_key: str | None = None
    api_key: str = ""

    @property
    def store(self) -> Store:
        return self.server.store

    @property
    def events(self) -> Events:
        return self.server.events

    @property
    def now(self) -> int:
        return self.server.store.clock.now()

    @property
    def expand(self) -> list[str]:
        return self.params.strings("expand")

    def render(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        return render(self.store, kind, record, self.expand)
