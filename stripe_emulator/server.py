"""The HTTP server: stdlib ``ThreadingHTTPServer`` around ``App``; ``StripeServer`` bundles
store, events, webhook dispatcher and HTTP listener with start/stop."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .app import App
from .context import Server
from .control import Control
from .events import Events
from .state import Store
from .webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server_version = "stripe-local/1.0"
    # HTTP/1.0: one request per connection, so no idle keep-alive threads linger after stop.
    protocol_version = "HTTP/1.0"

    def _serve(self) -> None:
        app: App = self.server.app  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = app.handle(self.command, parts.path, parts.query, headers, body)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


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
        self.httpd = _HTTPServer((host, port), _Handler)
        bound_host, bound_port = self.httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self.context = Server(store=self.store, events=events, base_url=self.url)
        self.app = App(self.context, secret_key=secret_key)
        self.control = Control(self.app, self.dispatcher)
        self.httpd.app = self.app  # type: ignore[attr-defined]
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
