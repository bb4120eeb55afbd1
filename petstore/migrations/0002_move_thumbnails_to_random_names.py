"""Thumbnails stored under the old guessable names (pets/<customer id>/<pet id>/thumbnail.jpg)
move to random names. The public /media/ route that served them is gone, so they are already
unreachable through the app; moving them also closes them to a web server that an operator may
have pointed at MEDIA_ROOT, and leaves nothing on disk named after a customer or a pet."""

import os
import re
import secrets

from django.core.files.storage import default_storage
from django.db import migrations

OLD_NAME = re.compile(r"^pets/\d+/\d+/[^/]+$")


def _random_name() -> str:
    # The same scheme as petstore.models.pet_image_path (copied: a migration keeps its own).
    token = secrets.token_hex(16)
    return f"pets/{token[:2]}/{token}.jpg"


def _remove_empty_folders(storage, name: str) -> None:
    try:
        folder = os.path.dirname(storage.path(name))
    except NotImplementedError:  # not a filesystem: folders are not a thing
        return
    for _ in range(2):  # pets/<pet id>/, then pets/<customer id>/
        try:
            os.rmdir(folder)
        except OSError:  # not empty, or already gone
            return
        folder = os.path.dirname(folder)


def move_thumbnails(apps, schema_editor):
    Pet = apps.get_model("petstore", "Pet")
    storage = default_storage
    missing = 0
    for pet in Pet.objects.exclude(thumbnail="").iterator():
        old = pet.thumbnail.name
        if not OLD_NAME.match(old):
            continue
        if not storage.exists(old):
            # Left as it is (it already answers 404): the storage may just be unmounted now.
            missing += 1
            continue
        with storage.open(old, "rb") as content:
            new = storage.save(_random_name(), content)
        Pet.objects.filter(pk=pet.pk).update(thumbnail=new)
        storage.delete(old)
        _remove_empty_folders(storage, old)
    if missing:
        print(f"  {missing} thumbnail file(s) under old names were not found; left as they are")


class Migration(migrations.Migration):
    dependencies = [("petstore", "0001_initial")]

    operations = [migrations.RunPython(move_thumbnails, migrations.RunPython.noop)]
