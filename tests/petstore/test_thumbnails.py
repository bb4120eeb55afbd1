"""Pet images are private: random file names, no public /media/ route, and `thumbnail_url` a
signed URL that expires. The URL is a capability (like a cloud store's pre-signed URL): only the
owner is ever given one, nobody can make or alter one, and it stops working after
PET_IMAGE_URL_MAX_AGE seconds, when the image is replaced, or when the pet is deleted."""

import base64
import importlib
import io
import json
import re
import time
from unittest import mock

import pytest
from django.apps import apps
from django.core import signing
from PIL import Image
from rest_framework.test import APIClient

from petstore.models import Pet
from tests.conftest import KeyClient
from tests.petstore.test_pets import PETS, png_bytes, upload

RANDOM_NAME = re.compile(r"pets/[0-9a-f]{2}/[0-9a-f]{32}\.jpg")


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def with_image(client) -> dict:
    pet_id = client.post(PETS, {"name": "Pic"}, format="json").json()["id"]
    response = client.post(
        f"{PETS}/{pet_id}/image",
        {"image": upload("big.png", png_bytes((1200, 800)))},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    return response.json()


def fetch(url: str, **headers):
    return APIClient().get(url, **headers)  # no key: the signed URL is the credential


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == code and response.json()["message"]
    assert response["Cache-Control"] == "no-store"


def swap_payload(url: str, payload: list) -> str:
    """The URL with the signed value replaced (timestamp and signature kept): a forgery."""
    base, token = url.removesuffix(".jpg").rsplit("/", 1)
    _, timestamp, signature = token.split(":")
    value = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return f"{base}/{value.decode().rstrip('=')}:{timestamp}:{signature}.jpg"


@pytest.mark.django_db
def test_owners_url_serves_the_jpeg_privately(pro_client, media):
    assert pro_client.post(PETS, {"name": "No pic"}, format="json").json()["thumbnail_url"] is None
    pet = with_image(pro_client)
    url = pet["thumbnail_url"]
    assert url.startswith("http://testserver/api/v1/thumbnails/") and url.endswith(".jpg")
    assert pro_client.get(f"{PETS}/{pet['id']}").json()["thumbnail_url"].startswith(url[:40])

    response = fetch(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    cache = response["Cache-Control"]
    assert cache.startswith("private, max-age=") and 3590 <= int(cache.split("=")[1]) <= 3600
    body = b"".join(response.streaming_content)
    assert body[:3] == b"\xff\xd8\xff"
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "JPEG" and image.size == (256, 171)
    # A browser's <img> asks for image/*: still served (and refusals are still JSON).
    assert fetch(url, HTTP_ACCEPT="image/avif,image/webp,image/*").status_code == 200
    tampered = url.replace("/thumbnails/", "/thumbnails/x")
    assert_refused(fetch(tampered, HTTP_ACCEPT="image/jpeg"), 403, "invalid_signature")


@pytest.mark.django_db
def test_files_have_random_names_and_no_public_route(pro_client, media):
    pet = with_image(pro_client)
    stored = Pet.objects.get(pk=pet["id"])
    assert RANDOM_NAME.fullmatch(stored.thumbnail.name)
    assert (media / stored.thumbnail.name).is_file()
    # Neither the old guessable path nor the file's real name is served by anyone.
    old = f"pets/{stored.owner_id}/{stored.pk}/thumbnail.jpg"
    (media / old).parent.mkdir(parents=True)
    (media / old).write_bytes((media / stored.thumbnail.name).read_bytes())
    for path in (old, stored.thumbnail.name):
        for client in (APIClient(), pro_client):
            response = client.get(f"/media/{path}")
            assert response.status_code == 404
            assert b"\xff\xd8" not in response.content


@pytest.mark.django_db
def test_a_stranger_gets_no_url_and_cannot_forge_one(pro_client, make_customer, media):
    pet = with_image(pro_client)
    owner_pet = Pet.objects.get(pk=pet["id"])
    customer, raw = make_customer("pro", "stranger@example.com")
    stranger = KeyClient(raw, customer)
    assert stranger.get(f"{PETS}/{pet['id']}").status_code == 404
    assert stranger.get(PETS).json()["count"] == 0
    # Its own image's URL, re-pointed at the owner's pet: the signature no longer matches.
    own_url = with_image(stranger)["thumbnail_url"]
    assert fetch(own_url).status_code == 200
    forged = swap_payload(own_url, [owner_pet.pk, owner_pet.thumbnail.name])
    assert_refused(fetch(forged), 403, "invalid_signature")
    # Signed with another key (or salt): refused too.
    foreign = signing.TimestampSigner(key="not-our-secret", salt="petstore.thumbnails")
    token = foreign.sign_object([owner_pet.pk, owner_pet.thumbnail.name])
    assert_refused(fetch(f"/api/v1/thumbnails/{token}.jpg"), 403, "invalid_signature")


@pytest.mark.django_db
def test_an_unauthenticated_client_gets_nothing(pro_client, media):
    pet = with_image(pro_client)
    anonymous = APIClient()
    assert anonymous.get(f"{PETS}/{pet['id']}").status_code == 401
    assert anonymous.get(PETS).status_code == 401
    for token in ("guess", "a:b:c", "W1sxLCJ4Il1d:1tAbCd:" + "A" * 43):
        response = anonymous.get(f"/api/v1/thumbnails/{token}.jpg")
        assert_refused(response, 403, "invalid_signature")


@pytest.mark.django_db
def test_a_tampered_url_is_refused(pro_client, media):
    url = with_image(pro_client)["thumbnail_url"]
    signature_char = url[-5]
    tampered = url[:-5] + ("A" if signature_char != "A" else "B") + ".jpg"
    assert_refused(fetch(tampered), 403, "invalid_signature")
    truncated = url.rsplit(":", 1)[0] + ".jpg"
    assert_refused(fetch(truncated), 403, "invalid_signature")


@pytest.mark.django_db
def test_an_expired_url_is_refused(pro_client, media, settings):
    pet = with_image(pro_client)
    # The URL the API gave out two hours ago (the signer's clock set back, nothing else).
    two_hours_ago = time.time() - 2 * 3600
    with mock.patch("django.core.signing.time.time", return_value=two_hours_ago):
        old_url = pro_client.get(f"{PETS}/{pet['id']}").json()["thumbnail_url"]
    assert_refused(fetch(old_url), 403, "url_expired")
    assert fetch(pro_client.get(f"{PETS}/{pet['id']}").json()["thumbnail_url"]).status_code == 200
    # The expiry is a setting: a longer one makes the same URL valid again.
    settings.PET_IMAGE_URL_MAX_AGE = 3 * 3600
    assert fetch(old_url).status_code == 200


@pytest.mark.django_db
def test_replacing_or_deleting_the_image_ends_its_urls(pro_client, media):
    pet = with_image(pro_client)
    first_name = Pet.objects.get(pk=pet["id"]).thumbnail.name
    replaced = pro_client.post(
        f"{PETS}/{pet['id']}/image", {"image": upload("b.png", png_bytes())}, format="multipart"
    ).json()
    assert not (media / first_name).exists()
    assert_refused(fetch(pet["thumbnail_url"]), 404, "not_found")
    assert fetch(replaced["thumbnail_url"]).status_code == 200

    assert pro_client.delete(f"{PETS}/{pet['id']}").status_code == 204
    assert_refused(fetch(replaced["thumbnail_url"]), 404, "not_found")


@pytest.mark.django_db(transaction=True)
def test_deleting_a_pet_removes_its_file(pro_client, media):
    pet = with_image(pro_client)
    name = Pet.objects.get(pk=pet["id"]).thumbnail.name
    assert (media / name).is_file()
    assert pro_client.delete(f"{PETS}/{pet['id']}").status_code == 204
    assert not (media / name).exists()


@pytest.mark.django_db
def test_migration_moves_old_thumbnails_to_random_names(owner, media):
    migration = importlib.import_module("petstore.migrations.0002_move_thumbnails_to_random_names")
    moved, missing, new_style = (
        Pet.objects.create(owner=owner.customer, name=name) for name in ("a", "b", "c")
    )
    for pet in (moved, missing):
        Pet.objects.filter(pk=pet.pk).update(
            thumbnail=f"pets/{owner.customer.pk}/{pet.pk}/thumbnail.jpg"
        )
    old_file = media / f"pets/{owner.customer.pk}/{moved.pk}/thumbnail.jpg"
    old_file.parent.mkdir(parents=True)
    old_file.write_bytes(b"\xff\xd8\xff jpeg bytes")
    Pet.objects.filter(pk=new_style.pk).update(thumbnail="pets/ab/" + "ab" * 16 + ".jpg")

    migration.move_thumbnails(apps, None)

    moved.refresh_from_db()
    assert RANDOM_NAME.fullmatch(moved.thumbnail.name)
    assert (media / moved.thumbnail.name).read_bytes() == b"\xff\xd8\xff jpeg bytes"
    assert not old_file.exists() and not (media / f"pets/{owner.customer.pk}").exists()
    missing.refresh_from_db()  # no file (storage unmounted?): left alone, it answers 404
    assert missing.thumbnail.name == f"pets/{owner.customer.pk}/{missing.pk}/thumbnail.jpg"
    new_style.refresh_from_db()
    assert new_style.thumbnail.name == "pets/ab/" + "ab" * 16 + ".jpg"
