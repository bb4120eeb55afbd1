import secrets

from django.db import models
from django.utils import timezone


class PetStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    PENDING = "pending", "Pending"
    SOLD = "sold", "Sold"


def pet_image_path(instance: "Pet", filename: str) -> str:
    """A random name (128 bits): nothing in it (customer, pet) helps anyone find the file, which
    is only ever served through signed URLs (petstore/thumbnails.py). The two-character folder
    keeps any one directory small."""
    token = secrets.token_hex(16)
    return f"pets/{token[:2]}/{token}.jpg"


class Pet(models.Model):
    owner = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE, related_name="pets")
    name = models.CharField(max_length=100)
    species = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=10, choices=PetStatus.choices, default=PetStatus.AVAILABLE)
    tags = models.JSONField(default=list, blank=True)
    thumbnail = models.ImageField(upload_to=pet_image_path, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return self.name
