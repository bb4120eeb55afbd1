"""Markup checks on every page: unique ids, a label for every form control, one h1, and
landmarks (a cheap accessibility regression net; the browser suite checks the rest)."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.factories import UsageAlertFactory

pytestmark = pytest.mark.django_db

PUBLIC = [
    "/",
    "/pricing/",
    "/pricing/?plan=free&calls=50000",
    "/docs/quickstart/",
    "/signup/",
    "/login/",
]
PRIVATE = [
    "/dashboard/",
    "/dashboard/usage/",
    "/dashboard/keys/",
    "/dashboard/keys/{pk}/revoke/",
    "/dashboard/keys/{pk}/rotate/",
    "/dashboard/billing/",
    "/dashboard/billing/plan/pro/",
    "/dashboard/billing/cancel/",
    "/dashboard/alerts/",
]


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, str | None, bool]] = []  # (tag, id, inside a label)
        self.tags: Counter[str] = Counter()
        self._labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] += 1
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "label":
            self._labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            labelled = bool(self._labels) or "aria-label" in attrs
            self.controls.append((tag, attrs.get("id"), labelled))

    def handle_endtag(self, tag):
        if tag == "label":
            self._labels -= 1


def check(html: str, url: str) -> None:
    page = Page()
    page.feed(html)
    duplicates = [i for i, n in Counter(page.ids).items() if n > 1]
    assert not duplicates, (url, duplicates)
    for tag, control_id, inside_label in page.controls:
        assert inside_label or control_id in page.label_for, (url, tag, control_id)
    assert page.tags["h1"] == 1, url
    assert page.tags["main"] == 1 and page.tags["header"] >= 1 and page.tags["footer"] == 1, url


@pytest.mark.parametrize("url", PUBLIC)
def test_public_pages(client, url):
    response = client.get(url)
    assert response.status_code == 200
    check(response.content.decode(), url)


@pytest.mark.parametrize("url", PRIVATE)
def test_dashboard_pages(owner, owner_web, url):
    owner.get("/api/v1/analytics")  # a refusal, so the refusal tables render
    owner.get("/api/v1/pets")
    UsageAlertFactory(customer=owner.customer, units_used=1, included_units=1)
    key = owner.customer.api_keys.get()
    if url == "/dashboard/":
        owner_web.post("/dashboard/keys/", {"name": "second"})  # the one-time key panel
    response = owner_web.get(url.format(pk=key.pk))
    assert response.status_code == 200
    check(response.content.decode(), url)
