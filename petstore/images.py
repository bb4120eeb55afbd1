"""Pet image processing: validate an upload and turn it into a JPEG thumbnail with Pillow."""

from __future__ import annotations

import io
import struct

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

from petstore.errors import ApplicationError

ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
THUMBNAIL_SIZE = (256, 256)
MAX_PIXELS = 40_000_000  # refuse decompression bombs long before they eat memory
# What Pillow raises on data it cannot decode: truncated ("image file is truncated"), corrupt
# ("broken data stream"), or malformed headers and chunks (SyntaxError, ValueError, EOFError).
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error)


class InvalidImage(ApplicationError):
    code = "invalid_image"


class ImageTooLarge(ApplicationError):
    status_code = 413
    code = "image_too_large"


def make_thumbnail(upload) -> tuple[ContentFile, dict]:
    if upload.size > settings.PET_IMAGE_MAX_BYTES:
        raise ImageTooLarge(
            f"The image is {upload.size} bytes; the limit is {settings.PET_IMAGE_MAX_BYTES}."
        )
    data = upload.read()
    try:
        return _thumbnail(data)
    except Image.DecompressionBombError as exc:
        raise InvalidImage(
            f"The image is too large to process; the limit is {MAX_PIXELS:,} pixels."
        ) from exc
    except UNREADABLE as exc:
        # Truncated or corrupt data often passes the header check and fails only when decoded.
        raise InvalidImage("The upload is not a readable image.") from exc


def _thumbnail(data: bytes) -> tuple[ContentFile, dict]:
    # Image.open reads only the header; it raises DecompressionBombError itself past twice
    # Pillow's own limit, and nothing is decoded before the size is checked against ours.
    with Image.open(io.BytesIO(data)) as probe:
        fmt = probe.format
        width, height = probe.size
        probe.verify()
    if fmt not in ALLOWED_FORMATS:
        raise InvalidImage(f"Unsupported image type {fmt}; send JPEG, PNG, GIF or WebP.")
    if width * height > MAX_PIXELS:
        raise InvalidImage(f"The image is {width}×{height}; the limit is {MAX_PIXELS:,} pixels.")
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail(THUMBNAIL_SIZE)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85)
        info = {
            "format": fmt,
            "original_width": width,
            "original_height": height,
            "width": image.width,
            "height": image.height,
        }
    return ContentFile(out.getvalue(), name="thumbnail.jpg"), info
