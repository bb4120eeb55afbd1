"""Hostile input against a real gunicorn: never a 500, never a traceback, always the error shape.

Each input is sent to one gunicorn (one worker) as a production deployment runs it (DEBUG off)
and as a developer might (DEBUG on, which `make run` used to force): under `/api/` the answer is
JSON `{"error": code, "message": …}` with a stable code, pages answer the portal's own pages, and
no body carries a traceback or settings. The database is the suite's (SQLite, or PostgreSQL when
DATABASE_URL says so: the NUL-byte cases matter there, where a NUL in a query parameter used to
reach the server and fail).
"""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
import requests
from django.test import Client
from PIL import Image

from petstore.models import Pet
from tests.servers import gunicorn

PETS = "/api/v1/pets"
IMAGE_ENDPOINT = "POST /api/v1/pets/{pk}/image"
# Text that only Django's debug pages, a traceback or a settings dump would put in a body.
LEAK_MARKERS = (
    "Traceback",
    'File "/',
    "SECRET_KEY",
    "INSTALLED_APPS",
    "DATABASES",
    "DEBUG = True",
    "Django Version",
    "site-packages",
)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_declaring(width: int, height: int, idat: bytes) -> bytes:
    """A PNG whose header says `width`×`height`, with whatever image data it is given."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def noise_png(size=(300, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


HOSTILE_IMAGES = {
    # 10 billion pixels declared in 60 bytes: Pillow refuses to open it (DecompressionBombError).
    "decompression_bomb": png_declaring(100_000, 100_000, zlib.compress(b"\0" * 100)),
    # Valid chunks, far too little pixel data: fails only when decoded ("image file is truncated").
    "truncated_pixels": png_declaring(300, 200, zlib.compress(b"\0" * 100)),
    # Valid chunks whose pixel data is not a zlib stream ("broken data stream").
    "corrupt_pixels": png_declaring(300, 200, b"\x13\x37" * 250),
    # A real PNG cut in half.
    "cut_in_half": noise_png()[:10_000],
}


def assert_no_leak(response: requests.Response) -> None:
    for marker in LEAK_MARKERS:
        assert marker not in response.text, f"{marker!r} in the body: {response.text[:500]}"


def assert_api_error(response: requests.Response, status: int, code: str) -> dict:
    assert_no_leak(response)
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    return body


def assert_portal_page(response: requests.Response, status: int) -> None:
    assert_no_leak(response)
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("text/html")
    assert '<link rel="stylesheet"' in response.text  # the portal's base template, not Django's


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def accounts(make_customer):
    """A Pro customer (images and analytics allowed) with a pet and a portal session."""
    customer, raw = make_customer("pro", "hostile@example.com")
    pet = Pet.objects.create(owner=customer, name="Target")
    web = Client()
    web.force_login(customer.user)
    return {
        "customer": customer,
        "key": raw,
        "pet_id": pet.pk,
        "session": web.cookies["sessionid"].value,
    }


@pytest.fixture(scope="module", params=["debug_off", "debug_on"])
def server(request, django_db_setup, tmp_path_factory):
    debug = "true" if request.param == "debug_on" else "false"
    media = tmp_path_factory.mktemp("media")
    with gunicorn(workers=1, DEBUG=debug, MEDIA_ROOT=str(media)) as url:
        yield url


@pytest.fixture
def api(server, accounts) -> requests.Session:
    session = requests.Session()
    session.headers["X-API-Key"] = accounts["key"]
    return session


@pytest.fixture
def portal(server, accounts) -> requests.Session:
    session = requests.Session()
    session.cookies.set("sessionid", accounts["session"])
    return session


def image_units(api: requests.Session, server: str) -> tuple[int, int]:
    """(billable calls, units) of the image route in the current period."""
    usage = api.get(f"{server}/api/v1/usage").json()
    for row in usage["by_endpoint"]:
        if row["endpoint"] == IMAGE_ENDPOINT:
            return row["calls"], row["units"]
    return 0, 0


# --- JSON bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[" * 5000 + "]" * 5000,
        '{"name": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
    ],
    ids=["arrays", "objects"],
)
def test_json_nested_5000_deep_is_invalid_request(api, server, body):
    response = api.post(f"{server}{PETS}", data=body, headers={"Content-Type": "application/json"})
    assert_api_error(response, 400, "invalid_request")


def test_malformed_json_keeps_its_code(api, server):
    response = api.post(
        f"{server}{PETS}", data='{"name": ', headers={"Content-Type": "application/json"}
    )
    assert_api_error(response, 400, "malformed_request")


def test_nul_byte_in_a_json_string_is_invalid_request(api, server):
    response = api.post(f"{server}{PETS}", json={"name": "Rex\u0000"})
    assert_api_error(response, 400, "invalid_request")
    response = api.post(f"{server}{PETS}", json={"name": "Rex", "tags": ["a\u0000b"]})
    assert_api_error(response, 400, "invalid_request")


# --- query strings and paths -----------------------------------------------------------------


def test_nul_byte_in_the_quote_query_is_invalid_request(server):
    response = requests.get(f"{server}/api/v1/pricing/quote?plan=%00&calls=1")
    assert_api_error(response, 400, "invalid_request")


def test_nul_byte_in_a_filter_is_invalid_request(api, server):
    response = api.get(f"{server}{PETS}?species=%00")
    assert_api_error(response, 400, "invalid_request")


def test_nul_byte_in_a_page_query_answers_the_portal_400_page(server):
    assert_portal_page(requests.get(f"{server}/pricing/?plan=%00&calls=1"), 400)


def test_nul_byte_in_a_cookie_answers_400(api, server):
    # Django unquotes cookie values, octal escapes included: this session key holds a NUL.
    cookie = {"Cookie": 'sessionid="\\000hostile-session-key"'}
    assert_portal_page(requests.get(f"{server}/dashboard/", headers=cookie), 400)
    assert_api_error(api.get(f"{server}{PETS}", headers=cookie), 400, "invalid_request")


def test_a_pet_id_that_is_not_a_number_is_not_found(api, server):
    assert_api_error(api.get(f"{server}{PETS}/abc"), 404, "not_found")
    assert_api_error(requests.get(f"{server}/api/v1/no-such-route"), 404, "not_found")


def test_a_missing_pet_is_not_found(api, server):
    body = assert_api_error(api.get(f"{server}{PETS}/987654321"), 404, "not_found")
    assert body["message"] != "error"


def test_a_wrong_method_is_method_not_allowed(api, server):
    assert_api_error(api.delete(f"{server}{PETS}"), 405, "method_not_allowed")
    assert_api_error(
        requests.put(f"{server}/api/v1/pricing/quote?plan=pro&calls=1"), 405, "method_not_allowed"
    )


def test_an_unknown_content_type_is_unsupported_media_type(api, server):
    response = api.post(
        f"{server}{PETS}", data="<pet/>", headers={"Content-Type": "application/xml"}
    )
    assert_api_error(response, 415, "unsupported_media_type")


# --- big bodies ------------------------------------------------------------------------------

TWELVE_MB = 12 * 1024 * 1024


def test_a_12_mb_json_body_is_payload_too_large(api, server):
    body = '{"name": "' + "x" * TWELVE_MB + '"}'
    response = api.post(f"{server}{PETS}", data=body, headers={"Content-Type": "application/json"})
    assert_api_error(response, 413, "payload_too_large")


def test_a_12_mb_form_field_is_payload_too_large(api, server):
    response = api.post(f"{server}{PETS}", files={"name": (None, "x" * TWELVE_MB)})
    assert_api_error(response, 413, "payload_too_large")


def test_a_12_mb_image_is_payload_too_large_and_not_billed(api, server, accounts):
    url = f"{server}{PETS}/{accounts['pet_id']}/image"
    before = image_units(api, server)
    response = api.post(url, files={"image": ("big.png", b"\x89PNG" + b"x" * TWELVE_MB)})
    assert_api_error(response, 413, "payload_too_large")
    assert image_units(api, server) == before


def test_a_12_mb_page_post_answers_the_portal_413_page(portal, server):
    page = portal.get(f"{server}/dashboard/alerts/")
    token = portal.cookies["csrftoken"]
    response = portal.post(
        f"{server}/dashboard/alerts/",
        data={"csrfmiddlewaretoken": token, "thresholds": "x" * TWELVE_MB},
        headers={"Referer": page.url},
    )
    assert_portal_page(response, 413)


# --- images ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HOSTILE_IMAGES))
def test_hostile_images_are_invalid_and_not_billed(api, server, accounts, kind):
    url = f"{server}{PETS}/{accounts['pet_id']}/image"
    before = image_units(api, server)
    response = api.post(url, files={"image": (f"{kind}.png", HOSTILE_IMAGES[kind], "image/png")})
    assert_api_error(response, 400, "invalid_image")
    assert image_units(api, server) == before
    pet = api.get(f"{server}{PETS}/{accounts['pet_id']}").json()
    assert pet["thumbnail_url"] is None


# --- portal forms ----------------------------------------------------------------------------


def test_alerts_form_with_a_superscript_digit_is_a_form_error(portal, server):
    url = f"{server}/dashboard/alerts/"
    page = portal.get(url)
    assert page.status_code == 200
    token = portal.cookies["csrftoken"]
    response = portal.post(
        url, data={"csrfmiddlewaretoken": token, "thresholds": "²"}, headers={"Referer": url}
    )
    assert_portal_page(response, 400)
    assert "Use whole numbers" in response.text
