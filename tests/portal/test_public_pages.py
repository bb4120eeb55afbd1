"""Landing, quick start and the error pages."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_landing_explains_the_api_the_free_tier_and_the_quick_start(client, plans):
    response = client.get("/")
    assert response.status_code == 200
    body = text(response)
    assert "Pet Store API" in body
    # The free tier comes from the Plan row, not from the template.
    assert f"{plans['free'].included_units:,} calls a month" in body
    for step in ("Register", "Make your first call", "Create a pet"):
        assert step in body
    assert 'href="/pricing/"' in body and 'href="/docs/quickstart/"' in body
    assert 'href="/signup/"' in body
    # The commands use the host the page was reached on.
    assert "http://testserver/api/v1/pets" in body


def test_assets_are_local_never_from_a_cdn(client):
    body = text(client.get("/"))
    assert "/static/portal/portal.css" in body and "/static/portal/portal.js" in body
    assert not re.search(r"""(src|href)=["']https?://""", body)


def test_quickstart_uses_the_real_host(client):
    response = client.get("/docs/quickstart/", HTTP_HOST="localhost")
    assert response.status_code == 200
    body = text(response)
    assert "export PETSTORE_BASE_URL=http://localhost" in body
    assert "$PETSTORE_BASE_URL/api/v1/auth/register" in body
    # the same flow with curl and each SDK (tests/sdks/test_quickstart.py runs them)
    assert "from petstore_sdk import PetStore" in body
    assert "require(&#x27;@petstore/sdk&#x27;)" in body
    assert "github.com/petstore/petstore-go" in body
    assert "/api/v1/pets" in body and "Buddy" in body
    assert 'href="/api/docs/"' in body


def test_api_reference_is_still_served(client):
    assert client.get("/api/docs/").status_code == 200


def test_not_found_is_html_for_pages_and_json_for_the_api(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in text(response)
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_server_error_handler_renders(rf):
    from portal.views import server_error

    response = server_error(rf.get("/dashboard/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert server_error(rf.get("/api/v1/pets")).status_code == 500
