"""The HTTP server: werkzeug's threaded WSGI server around ``App``; ``StripeServer`` bundles
store, events, webhook dispatcher and HTTP listener with start/stop."""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, make_server

from .app import App
from .context import Server
from .control import Control
from .events import Events
from .state import Store
from .webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)


class _Handler(WSGIRequestHandler):
    server_version = "stripe-local/1.0"
    # HTTP/1.0: one request per connection, so no idle keep-alive threads linger after stop.
    protocol_version = "HTTP/1.0"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s %s %s", self.command, self.path, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.log(logging.ERROR if type == "error" else logging.DEBUG, message, *args)


class StripeServer:
    """``StripeServer(host, port).start()`` serves in a daemon thread; ``stop()`` ends it.
    Port 0 picks a free port (see ``url``)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 12111,
        *,
        state_file: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.store = Store(state_file)
        self.dispatcher = WebhookDispatcher()
        events = Events(self.store, self.dispatcher)
        self.context = Server(store=self.store, events=events)
        self.app = App(self.context, secret_key=secret_key)
        self.control = Control(self.app, self.dispatcher)
        self.httpd: ThreadedWSGIServer = make_server(  # type: ignore[assignment]
            host, port, self.app, threaded=True, request_handler=_Handler
        )
        self.url = f"http://{host}:{self.httpd.server_port}"
        self.context.base_url = self.url
        self._thread: threading.Thread | None = None

    def start(self) -> StripeServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="stripe-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.dispatcher.stop()
        self.store.save()
        if self._thread is not None:
            self._thread.join(timeout=5)
