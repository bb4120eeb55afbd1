"""`make run` on another port: SITE_URL follows WEB_PORT unless set, so `upgrade_url`, emails and
the Stripe webhook endpoint that `setup_stripe` registers all point at the port being served."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import stripe
from django.conf import settings

from accounts.models import Customer, Plan
from accounts.services import customer_register
from billing.services import subscription_change
from petstore.ports import free_port
from tests.servers import gunicorn, server_env

if any(
    line.startswith(("SITE_URL=", "WEB_PORT="))
    for line in (
        (settings.BASE_DIR / ".env").read_text().splitlines()
        if (settings.BASE_DIR / ".env").exists()
        else []
    )
):
    pytest.skip("this checkout's .env sets SITE_URL or WEB_PORT", allow_module_level=True)


def site_url_in_a_new_process(**env: str) -> str:
    """SITE_URL as a fresh process computes it from this environment."""
    base = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "WEB_PORT")}
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SITE_URL)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "petstore.settings",
            "REDIS_URL": settings.REDIS_URL,  # no embedded Redis of its own
            **env,
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.split()[-1]


def test_site_url_follows_web_port_unless_set():
    assert site_url_in_a_new_process() == "http://127.0.0.1:8000"
    assert site_url_in_a_new_process(WEB_PORT="8765") == "http://127.0.0.1:8765"
    assert (
        site_url_in_a_new_process(WEB_PORT="8765", SITE_URL="https://api.example.com/")
        == "https://api.example.com"
    )


def test_make_run_reads_web_port_from_dot_env_like_settings(tmp_path, monkeypatch):
    from petstore.devrun import run_env

    monkeypatch.delenv("WEB_PORT", raising=False)
    monkeypatch.delenv("SITE_URL", raising=False)
    assert run_env(tmp_path)["WEB_PORT"] == "8000"
    (tmp_path / ".env").write_text("# local\nWEB_PORT=8765\nDEBUG=false\n")
    env = run_env(tmp_path)
    assert env["WEB_PORT"] == "8765" and env["DEBUG"] == "false"
    assert "SITE_URL" not in env  # left to settings, which derive it from WEB_PORT
    monkeypatch.setenv("WEB_PORT", "9001")  # the environment wins over .env, as in settings
    assert run_env(tmp_path)["WEB_PORT"] == "9001"


@pytest.mark.django_db(transaction=True)
def test_setup_stripe_registers_the_webhook_endpoint_on_web_port(stripe_server):
    """`make run`'s sequence on another port: `setup_stripe` with WEB_PORT set and no SITE_URL,
    then the web server on WEB_PORT. Stripe's webhooks reach it and move the plan."""
    port = free_port(18765)
    env = {
        k: v
        for k, v in server_env(STRIPE_API_BASE=stripe_server.url, WEB_PORT=str(port)).items()
        if k != "SITE_URL"
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "setup_stripe"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    expected = f"http://127.0.0.1:{port}/stripe/webhook/"
    assert f"stripe webhooks deliver to {expected}" in out.stdout
    endpoints = stripe.WebhookEndpoint.list().data
    assert [e.url.startswith(expected) for e in endpoints] == [True]

    with gunicorn(workers=1, port=port, STRIPE_API_BASE=stripe_server.url):
        customer, _ = customer_register(email="port@example.com")
        subscription_change(
            customer=customer, plan=Plan.objects.get(slug="pro"), payment_method="pm_card_visa"
        )
        stripe_server.wait_for_webhooks(timeout=20)
        # Cancelled in Stripe directly: only the webhook can bring the customer back to Free.
        stripe.Subscription.cancel(
            stripe.Subscription.list(customer=customer.stripe_customer_id).data[0].id
        )
        stripe_server.wait_for_webhooks(timeout=20)

    assert Customer.objects.get(pk=customer.pk).plan.slug == "free"
    deliveries = stripe_server.deliveries()
    assert deliveries and {d["status"] for d in deliveries} == {200}
    assert {d["url"].startswith(expected) for d in deliveries} == {True}
