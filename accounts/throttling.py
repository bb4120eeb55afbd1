"""Abuse limits of the account pages: log-in lockouts (django-axes) and password-reset emails
(django-ratelimit). Limits and windows are settings (petstore/settings.py, docs/operations.md).

- Log-ins (portal and admin alike, through `authenticate`): failures are counted in the
  database per account and per client address, each against its own limit.
- Password resets: emails are counted in the cache per address asked for and per client.

Client addresses follow the API's rule (DRF throttles): REMOTE_ADDR, unless NUM_PROXIES
trusted proxies are in front, then the address the outermost of them saw in X-Forwarded-For.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)


# --- client address and account name -------------------------------------------------------


def client_ip(request: HttpRequest) -> str | None:
    """The client's address by DRF's rule (the one the API's throttles use). Anything that is
    not an IP address (a malformed forwarded header) falls back to the connection's address."""
    candidate = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return request.META.get("REMOTE_ADDR") or None


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account a log-in is for, as axes counts it: `Dev@Example.com ` and `dev@example.com`
    are one account (the portal normalises emails the same way; admin usernames are compared
    case-insensitively here so that case games buy no extra attempts)."""
    if credentials:
        username = credentials.get("username")
    else:
        username = request.POST.get("username") or request.POST.get("email")
    if not username:
        return None
    return str(username).strip().lower()[:255]


# --- log-in lockouts (django-axes) -----------------------------------------------------------


def login_failure_limit(request: HttpRequest, credentials: dict | None) -> int:
    """The number axes compares failures with: the per-account limit (see the handler)."""
    return settings.LOGIN_FAILURES_PER_USER


def login_lockout_time(request: HttpRequest | None) -> timedelta:
    return timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with one limit per lockout parameter.

    Axes compares a single failure count with a single limit. Here the count is the account's
    failures (from any address), raised to the limit when the client address has reached its
    own, larger limit (failures for any account): an attacker spreading guesses over many
    accounts from one address is locked out, and one account attacked from many addresses too.
    Needs AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"], in that order (settings).
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        by_account, by_address = self.get_user_attempts(request, credentials)
        account = by_account.aggregate(n=Sum("failures_since_start"))["n"] or 0
        address = by_address.aggregate(n=Sum("failures_since_start"))["n"] or 0
        if address >= settings.LOGIN_FAILURES_PER_IP:
            return max(account, settings.LOGIN_FAILURES_PER_USER)
        return account

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        # After a successful log-in, forget that account's failures from that address only:
        # logging in to one's own account must not wipe the address's count of failures on
        # other accounts (nor an attacker's failures on this account from elsewhere).
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count


# --- password-reset emails (django-ratelimit) ----------------------------------------------


@dataclass(frozen=True)
class ResetLimit:
    """Which password-reset limit a request hit (`None` scope: none), and for how long."""

    scope: str | None
    retry_after: int = 0


def password_reset_limit(request: HttpRequest, email: str) -> ResetLimit:
    """Count one password-reset request against the client address, then against the email
    asked for (counted whether an account exists or not), and say which limit is exceeded."""
    checks = [
        ("ip", settings.PASSWORD_RESET_RATE_PER_IP, client_ip(request) or "unknown"),
        ("email", settings.PASSWORD_RESET_RATE_PER_EMAIL, email.strip().lower()),
    ]
    for scope, rate, value in checks:
        try:
            usage = get_usage(
                request,
                group=f"password-reset:{scope}",
                key=lambda group, request, value=value: value,
                rate=rate,
                increment=True,
            )
        except (ConnectionInterrupted, RedisError):
            # Fail open (RATELIMIT_FAIL_OPEN): a forgotten password must stay recoverable while
            # Redis is down; the log-in lockouts live in the database and still hold.
            logger.warning("password reset: the cache is unreachable, %s limit not applied", scope)
            usage = None
        if usage is not None and usage["should_limit"]:
            return ResetLimit(scope, max(int(usage["time_left"]), 1))
    return ResetLimit(None)
