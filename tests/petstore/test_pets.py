import io
import os

import pytest
from PIL import Image

from accounts.models import Plan
from accounts.services import customer_change_plan
from petstore.models import Pet

PETS = "/api/v1/pets"


def png_bytes(size=(600, 400), fmt="PNG") -> bytes:
    """Noise, so that the file is as large as a photo of that size (solid colours compress)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_crud_roundtrip(owner):
    created = owner.post(PETS, {"name": "Rex", "species": "dog", "tags": ["good"]}, format="json")
    assert created.status_code == 201
    pet = created.json()
    assert pet["status"] == "available" and pet["tags"] == ["good"]
    url = f"{PETS}/{pet['id']}"
    assert owner.get(url).json()["name"] == "Rex"
    replaced = owner.put(url, {"name": "Max", "species": "dog", "status": "pending"}, format="json")
    assert replaced.status_code == 200 and replaced.json()["status"] == "pending"
    patched = owner.patch(url, {"status": "sold"}, format="json")
    assert patched.json()["status"] == "sold" and patched.json()["name"] == "Max"
    assert owner.delete(url).status_code == 204
    assert owner.get(url).status_code == 404
    assert not Pet.objects.exists()


@pytest.mark.django_db
def test_list_is_paginated_and_filtered(pro_client):
    for i in range(7):
        status = "sold" if i % 2 else "available"
        pro_client.post(
            PETS, {"name": f"pet{i}", "status": status, "species": "Cat"}, format="json"
        )
    page = pro_client.get(PETS, {"limit": 3}).json()
    assert page["count"] == 7 and len(page["results"]) == 3 and page["next"]
    sold = pro_client.get(PETS, {"status": "sold"}).json()
    assert sold["count"] == 3 and {p["status"] for p in sold["results"]} == {"sold"}
    assert pro_client.get(PETS, {"species": "cat"}).json()["count"] == 7
    bad = pro_client.get(PETS, {"status": "lost"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "validation_error" and "status" in bad.json()["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": "x", "status": "eaten"}, "status"),
        ({"name": "x" * 101}, "name"),
        ({"name": "x", "tags": "notalist"}, "tags"),
        # As strict as the schema says (core/serializers.py): strings are JSON strings, kept as
        # sent, not blank; integers are not strings; unknown and read-only fields are refused.
        ({"name": 0}, "name"),
        ({"name": 1.5}, "name"),
        ({"name": True}, "name"),
        ({"name": ""}, "name"),
        ({"name": "Rex" + " " * 98}, "name"),
        ({"name": "x", "species": 7}, "species"),
        ({"name": "x", "tags": [""]}, "tags"),
        ({"name": "x", "tags": [3]}, "tags"),
        ({"name": "x", "staus": "sold"}, "staus"),
        ({"name": "x", "id": 9}, "id"),
    ],
)
def test_validation_errors_are_json(owner, payload, field):
    response = owner.post(PETS, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in body["fields"]
    assert not Pet.objects.exists()


@pytest.mark.django_db
def test_strings_are_kept_as_sent(owner):
    pet = owner.post(PETS, {"name": " Rex ", "species": "", "tags": [" a"]}, format="json")
    assert pet.status_code == 201
    assert (pet.json()["name"], pet.json()["species"], pet.json()["tags"]) == (" Rex ", "", [" a"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "2.18e-134"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "1_0"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "2147483648"}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"status": ""}, "status"),
    ],
)
def test_list_parameters_the_schema_refuses_are_400(owner, params, field):
    response = owner.get(PETS, params)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and field in response.json()["fields"]


@pytest.mark.django_db
def test_list_parameters_at_their_bounds_are_fine(owner):
    owner.post(PETS, {"name": "Rex"}, format="json")
    assert owner.get(PETS, {"limit": "1000", "offset": "0"}).json()["count"] == 1
    assert owner.get(PETS, {"limit": "001", "offset": "2147483647"}).json()["results"] == []


@pytest.mark.django_db
def test_a_form_encoded_body_is_415(owner):
    response = owner.post(PETS, "name=Rex", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
    assert not Pet.objects.exists()


@pytest.mark.django_db
def test_tenant_isolation_on_every_pet_route(
    owner, stranger, media, django_capture_on_commit_callbacks
):
    pet_id = owner.post(PETS, {"name": "Mine"}, format="json").json()["id"]
    url = f"{PETS}/{pet_id}"
    assert stranger.get(PETS).json()["count"] == 0
    assert stranger.get(url).status_code == 404
    assert stranger.put(url, {"name": "Stolen"}, format="json").status_code == 404
    assert stranger.patch(url, {"name": "Stolen"}, format="json").status_code == 404
    assert stranger.delete(url).status_code == 404
    assert owner.get(url).json()["name"] == "Mine"
    # Image and analytics: a paying stranger still sees nothing of the owner's.
    with django_capture_on_commit_callbacks(execute=True):  # the commit replaces the token
        customer_change_plan(customer=stranger.customer, plan=Plan.objects.get(slug="pro"))
    response = stranger.post(
        f"{url}/image", {"image": upload("a.png", png_bytes())}, format="multipart"
    )
    assert response.status_code == 404
    assert stranger.get("/api/v1/analytics").json()["total"] == 0


@pytest.mark.django_db
def test_image_upload_makes_a_thumbnail(pro_client, media):
    pet_id = pro_client.post(PETS, {"name": "Pic"}, format="json").json()["id"]
    response = pro_client.post(
        f"{PETS}/{pet_id}/image",
        {"image": upload("big.png", png_bytes((1200, 800)))},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["image"]["format"] == "PNG"
    assert (body["image"]["width"], body["image"]["height"]) == (256, 171)
    pet = Pet.objects.get(pk=pet_id)
    with Image.open(pet.thumbnail.path) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (256, 171)
    assert body["thumbnail_url"].endswith(".jpg")


@pytest.mark.django_db
def test_image_upload_rejects_bad_files(pro_client, media, settings):
    pet_id = pro_client.post(PETS, {"name": "Pic"}, format="json").json()["id"]
    url = f"{PETS}/{pet_id}/image"
    not_image = pro_client.post(url, {"image": upload("x.png", b"hello")}, format="multipart")
    assert not_image.status_code == 400 and not_image.json()["error"] == "invalid_image"
    bmp = pro_client.post(url, {"image": upload("x.bmp", png_bytes(fmt="BMP"))}, format="multipart")
    assert bmp.status_code == 400 and "Unsupported image type BMP" in bmp.json()["message"]
    missing = pro_client.post(url, {}, format="multipart")
    assert missing.status_code == 400 and "image" in missing.json()["fields"]
    settings.PET_IMAGE_MAX_BYTES = 1000
    too_big = pro_client.post(
        url, {"image": upload("x.png", png_bytes((300, 300)))}, format="multipart"
    )
    assert too_big.status_code == 413 and too_big.json()["error"] == "image_too_large"
    assert not Pet.objects.get(pk=pet_id).thumbnail


@pytest.mark.django_db
def test_analytics_counts_by_status(pro_client):
    for status in ["available", "available", "sold"]:
        pro_client.post(PETS, {"name": "p", "status": status, "species": "dog"}, format="json")
    body = pro_client.get("/api/v1/analytics").json()
    assert body == {
        "total": 3,
        "by_status": {"available": 2, "pending": 0, "sold": 1},
        "by_species": {"dog": 3},
    }


@pytest.mark.django_db
def test_free_plan_gets_feature_gates(owner):
    response = owner.get("/api/v1/analytics")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "feature_not_in_plan" and body["feature"] == "analytics"
    assert body["upgrade_url"].endswith("/pricing/")
    pet_id = owner.post(PETS, {"name": "p"}, format="json").json()["id"]
    image = owner.post(
        f"{PETS}/{pet_id}/image", {"image": upload("a.png", png_bytes())}, format="multipart"
    )
    assert image.status_code == 403 and image.json()["feature"] == "images"
