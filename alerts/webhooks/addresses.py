"""Where a webhook may be sent: the SSRF guard, and the HTTP request that obeys it.

A customer chooses the URL and we make the request, from inside our network: without a guard,
`http://169.254.169.254/…` (cloud metadata), `http://10.0.0.5:6379/` or `http://localhost/admin`
would be requests from us to ourselves. So a URL is refused unless every address its host
resolves to is globally routable (`ipaddress.is_global`, which excludes private, loopback,
link-local (metadata), shared, reserved and multicast ranges; IPv4 inside IPv6 (mapped, 6to4,
Teredo) is judged by the IPv4 address), checked when the endpoint is created and again at every
delivery, where the request then goes to the address that was checked (pinned: no second DNS
lookup a rebinding attacker could answer differently), with the host name kept for `Host`, SNI
and the certificate check. Redirects are never followed (a 3xx is a failed attempt, as at
Stripe), so a public URL cannot bounce us inward.

`WEBHOOK_ALLOW_PRIVATE_URLS` lifts the address check (`make run` and the tests deliver to
loopback); never in production.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from core.errors import ApplicationError

MAX_URL_LENGTH = 2048
RESPONSE_READ_LIMIT = 64 * 1024  # bytes read of an answer (to reuse nothing: only drained)


class InvalidWebhookUrl(ApplicationError):
    status_code = 400
    code = "invalid_webhook_url"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written, lowercased, without brackets
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]  # resolved, checked

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        ip = inner
    return ip.is_global and not ip.is_multicast


def url_parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an acceptable URL, or InvalidWebhookUrl saying why."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"Give an http(s) URL of at most {MAX_URL_LENGTH} characters.")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise InvalidWebhookUrl("The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl(f"The URL could not be read: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhookUrl("The URL must start with https:// (or http://).")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("The URL may not carry a user name or password.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidWebhookUrl("The URL has no host.")
    if parts.fragment:
        raise InvalidWebhookUrl("The URL may not have a #fragment.")
    port = port or (443 if parts.scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise InvalidWebhookUrl("The URL's port must be between 1 and 65535.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host.lower(), port, path


def target_resolve(url: str) -> Target:
    """Parse, resolve and check `url` (raises InvalidWebhookUrl). Done at creation and again
    before every delivery attempt."""
    scheme, host, port, path = url_parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InvalidWebhookUrl(f"The host {host} could not be resolved.") from exc
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise InvalidWebhookUrl(f"The host {host} could not be resolved.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        refused = [a for a in addresses if not address_is_public(a)]
        if refused:
            raise InvalidWebhookUrl(
                f"The host {host} resolves to a private, loopback, link-local or reserved "
                f"address ({refused[0]}): webhooks are only sent to public addresses."
            )
    return Target(scheme, host, port, path, addresses)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (connection refused, timeout, …)
    latency_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post_pinned(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to the first checked address of `target` (never resolving the host again),
    following no redirect."""
    address = target.addresses[0]
    pool_options = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            **pool_options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, **pool_options)
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        latency = int((time.monotonic() - started) * 1000)
        return Answer(None, latency, _error_text(exc))
    latency = int((time.monotonic() - started) * 1000)
    try:
        response.read(RESPONSE_READ_LIMIT)
    except urllib3.exceptions.HTTPError:
        pass  # the status is what counts
    finally:
        response.release_conn()
        pool.close()
    error = "" if 200 <= response.status < 300 else f"HTTP {response.status}"
    if 300 <= response.status < 400:
        error += " (redirects are not followed)"
    return Answer(response.status, latency, error)


def _error_text(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = type(reason).__name__
    if isinstance(reason, urllib3.exceptions.ConnectTimeoutError | TimeoutError):
        return "timed out connecting"
    if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
        return "timed out waiting for the answer"
    if isinstance(reason, ConnectionRefusedError) or "refused" in str(reason).lower():
        return "connection refused"
    if isinstance(reason, urllib3.exceptions.SSLError):
        return "TLS error: " + str(reason)[:200]
    return f"{text}: {str(reason)[:200]}"
