"""Account pages of the portal: sign-up, log-in, log-out and API keys.

Also the two helpers every dashboard page uses: `customer_required` (log-in plus a Customer
behind the user) and the one-time display of a new raw key (`new_key_stash`/`new_key_pop`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.api import RegistrationThrottle
from accounts.errors import EmailTaken, KeyLimitReached, SignupUnavailable, SpendCapNotAvailable
from accounts.forms import (
    KeyCapsForm,
    KeyCreateForm,
    KeyRotateForm,
    LoginForm,
    PasswordSetOrResetForm,
    SignupForm,
)
from accounts.models import ApiKey, Customer
from accounts.selectors import active_keys, customer_for_user, customer_keys, keys_usage
from accounts.throttling import login_lockout_time, password_reset_limit
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

NEW_KEY_SESSION = "portal_new_key"


# --- helpers shared by every dashboard page ---------------------------------------------------


def customer_required(view):
    """Log-in required, and a Customer behind the user: the view is called as
    `view(request, customer, ...)`. A user without one (staff) gets a friendly page. Never
    cached: dashboard pages may show a raw key once."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        customer = customer_for_user(request.user)
        if customer is None:
            return render(request, "accounts/no_customer.html", status=403)
        return view(request, customer, *args, **kwargs)

    return never_cache(login_required(wrapper))


def new_key_stash(request: HttpRequest, *, api_key: ApiKey, raw: str, first: bool = False) -> None:
    """Keep a new raw key in the session until the next page shows it (then it is dropped)."""
    request.session[NEW_KEY_SESSION] = {
        "raw": raw,
        "name": api_key.name,
        "id": api_key.pk,
        "first": first,
    }


def new_key_pop(request: HttpRequest) -> dict | None:
    return request.session.pop(NEW_KEY_SESSION, None)


def api_base_url(request: HttpRequest) -> str:
    """The host the visitor reached us on (ALLOWED_HOSTS-checked), for copy-paste commands."""
    return request.build_absolute_uri("/").rstrip("/")


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _hours_text(hours: int) -> str:
    if hours % 24 == 0 and hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} hour{'s' if hours != 1 else ''}"


# --- pages --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if customer_for_user(request.user) is not None:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            throttle = RegistrationThrottle()
            try:
                allowed = throttle.allow_request(request, None)
            except SignupUnavailable as exc:
                allowed = None
                form.add_error(None, exc.message)
                status = exc.status_code
            if allowed is False:
                wait = int(throttle.wait() or 0) + 1
                form.add_error(
                    None,
                    f"Too many sign-ups from this address. Try again in {_minutes(wait)}.",
                )
                status = 429
            elif allowed:
                try:
                    customer, raw = services.customer_register(
                        email=form.cleaned_data["email"], password=form.cleaned_data["password"]
                    )
                except EmailTaken as exc:
                    form.add_error("email", exc.message)
                    status = exc.status_code
                else:
                    login(
                        request, customer.user, backend="django.contrib.auth.backends.ModelBackend"
                    )
                    first_key = customer.api_keys.order_by("created_at", "id").first()
                    new_key_stash(request, api_key=first_key, raw=raw, first=True)
                    return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and customer_for_user(request.user) is not None:
        return redirect(_safe_next(request) or settings.LOGIN_REDIRECT_URL)
    form = LoginForm(request.POST if request.method == "POST" else None)
    next_url = _safe_next(request)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            # A locked-out account or address is refused by django-axes inside `authenticate`;
            # its middleware then answers with `login_locked_out` instead of this page.
            user = authenticate(
                request,
                username=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
            if user is None:
                form.add_error(None, "That email and password do not match an account.")
            else:
                login(request, user)
                return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    context = {"form": form, "next": next_url or ""}
    return render(request, "accounts/login.html", context, status=status)


LOCKED_OUT_MESSAGE = (
    "Too many failed log-in attempts for this account or from your network. Try again in {wait}."
)


def login_locked_out(request: HttpRequest, original_response, credentials) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE), 429 whatever the password: the
    portal's log-in page, or the admin's own page, saying how long to wait."""
    wait = _minutes(int(login_lockout_time(request).total_seconds()))
    message = LOCKED_OUT_MESSAGE.format(wait=wait)
    if request.path.startswith(reverse("admin:index")):
        context = {**admin.site.each_context(request), "title": "Log in", "message": message}
        return render(request, "admin/accounts/locked_out.html", context, status=429)
    form = LoginForm({"email": request.POST.get("email", "")})
    form.is_valid()  # binds the email back into the form; the password is never echoed
    form.add_error(None, message)
    context = {"form": form, "next": _safe_next(request) or ""}
    return render(request, "accounts/login.html", context, status=429)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, with the number of emails limited per address asked for and per
    client (accounts.throttling). Whether an account exists never changes the answer."""

    form_class = PasswordSetOrResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/emails/password_reset.txt"
    subject_template_name = "accounts/emails/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        limit = password_reset_limit(self.request, form.cleaned_data["email"])
        if limit.scope == "ip":
            form.add_error(
                None,
                "Too many password-reset requests from your network. "
                f"Try again in {_minutes(limit.retry_after)}.",
            )
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(limit.retry_after)
            return response
        if limit.scope == "email":
            # Enough links went to that address: answer as if one more did.
            return redirect(self.get_success_url())
        return super().form_valid(form)


def _key_rows(customer: Customer) -> list[dict]:
    now = timezone.now()
    rows = []
    usage = keys_usage(customer.pk)
    for key in customer_keys(customer):
        if key.revoked_at:
            status, tone = "Revoked", "neutral"
        elif key.expires_at and key.expires_at <= now:
            status, tone = "Expired", "neutral"
        elif key.expires_at:
            status, tone = "Expiring", "warning"
        else:
            status, tone = "Active", "success"
        counts = usage.get(key.pk)
        units = counts.units if counts else 0
        cap = key.unit_cap
        rows.append(
            {
                "key": key,
                "status": status,
                "tone": tone,
                "active": key.is_active(now),
                "units": units,
                "calls": counts.calls if counts else 0,
                "cap": cap,
                "capped": cap is not None and units >= cap,
            }
        )
    return rows


@customer_required
@require_http_methods(["GET", "POST"])
def keys_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = KeyCreateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                api_key, raw = services.api_key_create(
                    customer=customer, name=form.cleaned_data["name"] or "default"
                )
            except KeyLimitReached as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                new_key_stash(request, api_key=api_key, raw=raw)
                messages.success(request, f"Key “{api_key.name}” created.")
                return redirect("dashboard-keys")
    rows = _key_rows(customer)
    active = sum(row["active"] for row in rows)
    context = {
        "customer": customer,
        "plan": customer.plan,
        "form": form,
        "rows": rows,
        "active_count": active,
        "at_limit": active >= customer.plan.max_keys,
        "new_key": new_key_pop(request),
        "api_base": api_base_url(request),
    }
    return render(request, "accounts/keys.html", context, status=status)


@customer_required
@require_http_methods(["GET", "POST"])
def key_caps(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    """Set or remove a key's own monthly caps (the same as PATCH /api/v1/keys/{id})."""
    api_key = _own_key(customer, pk)
    spend_allowed = customer.plan.overage_policy in services.SPEND_CAP_POLICIES
    initial = {
        "monthly_unit_cap": api_key.monthly_unit_cap,
        "monthly_spend_cap": api_key.monthly_spend_cap,
    }
    form = KeyCapsForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        spend_cap_allowed=spend_allowed,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            caps = {"monthly_unit_cap": form.cleaned_data["monthly_unit_cap"]}
            if spend_allowed:
                caps["monthly_spend_cap"] = form.cleaned_data["monthly_spend_cap"]
            try:
                api_key = services.api_key_caps_set(api_key=api_key, **caps)
            except SpendCapNotAvailable as exc:
                form.add_error(None, exc.message)
            else:
                cap = api_key.unit_cap
                if cap is None:
                    messages.success(request, f"Key “{api_key.name}” has no monthly cap.")
                else:
                    messages.success(
                        request, f"Key “{api_key.name}” is capped at {cap:,} units a month."
                    )
                return redirect("dashboard-keys")
    counts = keys_usage(customer.pk).get(api_key.pk)
    context = {
        "customer": customer,
        "plan": customer.plan,
        "api_key": api_key,
        "form": form,
        "spend_allowed": spend_allowed,
        "units": counts.units if counts else 0,
    }
    return render(request, "accounts/key_caps.html", context, status=status)


def _own_key(customer: Customer, pk: int) -> ApiKey:
    """The customer's key, or 404: another customer's key id looks exactly like a missing one."""
    return get_object_or_404(ApiKey, pk=pk, customer=customer)


@customer_required
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    api_key = _own_key(customer, pk)
    if not api_key.is_active():
        messages.info(request, f"Key {api_key.prefix}… is already revoked or expired.")
        return redirect("dashboard-keys")
    if request.method == "POST":
        services.api_key_revoke(api_key=api_key)
        messages.success(
            request,
            f"Key “{api_key.name}” ({api_key.prefix}…) revoked: calls with it are refused now.",
        )
        return redirect("dashboard-keys")
    remaining = active_keys(customer).exclude(pk=api_key.pk).count()
    context = {"customer": customer, "api_key": api_key, "remaining": remaining}
    return render(request, "accounts/key_revoke.html", context)


@customer_required
@require_http_methods(["GET", "POST"])
def key_rotate(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    api_key = _own_key(customer, pk)
    if not api_key.is_active():
        messages.info(request, f"Key {api_key.prefix}… is already revoked or expired.")
        return redirect("dashboard-keys")
    form = KeyRotateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            grace = timedelta(hours=form.cleaned_data["grace_hours"])
            try:
                new_key, raw = services.api_key_rotate(api_key=api_key, grace=grace)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                new_key_stash(request, api_key=new_key, raw=raw)
                hours = form.cleaned_data["grace_hours"]
                old = (
                    "the old key is revoked"
                    if not hours
                    else f"the old key keeps working for {_hours_text(hours)}"
                )
                messages.success(request, f"Key “{api_key.name}” rotated: {old}.")
                return redirect(reverse("dashboard-keys"))
    context = {"customer": customer, "api_key": api_key, "form": form}
    return render(request, "accounts/key_rotate.html", context, status=status)
