"""Pet thumbnails are private: stored under random names (models.pet_image_path), served only
through signed URLs.

A pet's `thumbnail_url` is `/api/v1/thumbnails/<token>.jpg`, where the token is the pet's id and its
file's name signed with the SECRET_KEY and a timestamp (django.core.signing's TimestampSigner).
Only the owner gets one (it is in the owner's pet JSON, which nobody else can read) and it expires
after `PET_IMAGE_URL_MAX_AGE` seconds. It is a capability, as a cloud store's pre-signed URL is:
whoever holds it may fetch the image until it expires, so an `<img src>` works without a key, and
the answer says `Cache-Control: private` so that no shared cache keeps a copy. A new upload or the
pet's deletion makes every earlier URL answer 404: the token names the file it was issued for.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing

from petstore.errors import ApplicationError
from petstore.errors import NotFound as BaseNotFound
from petstore.models import Pet

SALT = "petstore.thumbnails"
# Answers that must not be kept by any cache: refusals (a later request may succeed).
NO_STORE = {"Cache-Control": "no-store"}


class InvalidThumbnailUrl(ApplicationError):
    status_code = 403
    code = "invalid_signature"
    default_message = "This image URL is not valid: take a fresh one from the pet's thumbnail_url."


class ExpiredThumbnailUrl(ApplicationError):
    status_code = 403
    code = "url_expired"
    default_message = "This image URL has expired: take a fresh one from the pet's thumbnail_url."


class ThumbnailNotFound(BaseNotFound):
    default_message = "This image no longer exists."


def thumbnail_token(pet: Pet) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object([pet.pk, pet.thumbnail.name])


def thumbnail_for_token(token: str) -> tuple[Pet, int]:
    """The pet whose current thumbnail the token was signed for, and the seconds it has left.
    Raises InvalidThumbnailUrl, ExpiredThumbnailUrl or ThumbnailNotFound (all with NO_STORE)."""
    signer = signing.TimestampSigner(salt=SALT)
    max_age = settings.PET_IMAGE_URL_MAX_AGE
    try:
        pet_id, name = signer.unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise ExpiredThumbnailUrl(headers=NO_STORE) from None
    except signing.BadSignature:  # tampered, truncated, or signed with another key or salt
        raise InvalidThumbnailUrl(headers=NO_STORE) from None
    pet = Pet.objects.filter(pk=pet_id, thumbnail=name).first()
    if pet is None or not pet.thumbnail.storage.exists(name):
        raise ThumbnailNotFound(headers=NO_STORE)
    issued_at = signing.b62_decode(token.rsplit(signer.sep, 2)[-2])
    return pet, max(0, int(issued_at + max_age - time.time()))
