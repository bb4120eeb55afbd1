"""The SSRF guard: URLs resolving to private, loopback, link-local (metadata) or reserved
addresses are refused at creation and again at every delivery (DNS rebinding), unless
WEBHOOK_ALLOW_PRIVATE_URLS says otherwise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.models import WebhookDelivery, WebhookEndpoint
from alerts.webhooks import services
from alerts.webhooks.addresses import (
    InvalidWebhookUrl,
    address_is_public,
    target_resolve,
    url_parse,
)
from core.events import domain_event_emit


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "2002:7f00:0001::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "ff02::1",
    ],
)
def test_private_and_special_addresses_are_not_public(address):
    assert not address_is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_global_addresses_are_public(address):
    assert address_is_public(address)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5:6379/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "https://0x7f000001/hook",  # 127.0.0.1 spelled in hex
        "http://2130706433/hook",  # and as an integer
    ],
)
def test_creation_refuses_urls_that_resolve_to_private_addresses(business, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = business.post(
        "/api/v1/webhooks", {"url": url, "events": ["plan.changed"]}, format="json"
    )
    assert response.status_code == 400, url
    assert response.json()["error"] == "invalid_webhook_url"
    assert "private" in response.json()["message"]
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_passes_the_guard(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    target = target_resolve("https://93.184.216.34:8443/hooks?x=1")
    assert target.addresses == ("93.184.216.34",)
    assert target.path == "/hooks?x=1" and target.host_header == "93.184.216.34:8443"


@pytest.mark.django_db
def test_delivery_checks_the_address_again_and_sends_nothing_inward(business, receiver, settings):
    # Created while allowed; then the name points inward (or the setting is off): at delivery
    # time the address is checked again and no request leaves.
    response = business.post(
        "/api/v1/webhooks", {"url": receiver.url, "events": ["plan.changed"]}, format="json"
    )
    assert response.status_code == 201
    domain_event_emit(
        customer_id=business.customer.pk, event_type="plan.changed", source="x", data={}
    )
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    delivery = WebhookDelivery.objects.get()
    result = services.webhook_delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at)
    assert result.status == "pending" and result.last_response_code is None
    assert "private" in result.last_error
    assert receiver.requests == []


@given(
    st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda host, path: f"http://{host}/{path}", st.text(max_size=40), st.text(max_size=20)
        ),
        st.builds(lambda port: f"https://127.0.0.1:{port}/", st.text(max_size=8)),
    )
)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_string_parses_or_is_refused_clearly(url):
    # Parsing only: DNS is not for property tests (the cases above resolve real names).
    try:
        scheme, host, port, path = url_parse(url)
    except InvalidWebhookUrl as exc:
        assert exc.message
    else:
        assert scheme in ("http", "https") and host and 1 <= port <= 65535
        assert path.startswith("/") and not any(ord(c) <= 32 for c in path)
