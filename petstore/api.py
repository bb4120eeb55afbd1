"""The Pet Store API: the product being sold. It knows nothing of metering or billing; those are
applied to it by configuration (metering middleware, endpoint table)."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_schema import VALIDATION_ERROR, refusals
from core.parsers import MultiPartParser
from core.serializers import StrictCharField, StrictModelSerializer, StrictSerializer
from petstore.images import ImageTooLarge, InvalidImage, make_thumbnail
from petstore.models import Pet, PetStatus
from petstore.thumbnails import (
    NO_STORE,
    ExpiredThumbnailUrl,
    InvalidThumbnailUrl,
    ThumbnailNotFound,
    thumbnail_for_token,
    thumbnail_token,
)


class PetSerializer(StrictModelSerializer):
    """One of your pets."""

    tags = serializers.ListField(
        child=StrictCharField(max_length=30), max_length=20, required=False
    )
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Pet
        fields = [
            "id",
            "name",
            "species",
            "status",
            "tags",
            "thumbnail_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "thumbnail_url", "created_at", "updated_at"]

    def get_thumbnail_url(self, pet: Pet) -> str | None:
        """A signed URL of the JPEG thumbnail, valid for PET_IMAGE_URL_MAX_AGE seconds (an hour
        by default); null without an image."""
        if not pet.thumbnail:
            return None
        url = reverse("api-thumbnail", args=[thumbnail_token(pet)])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class PetFilterForm(forms.Form):
    def clean_status(self):
        # An empty `status=` is not one of the statuses (django-filter would ignore it).
        if self.data.get("status") == "":
            raise forms.ValidationError("Choose one of: " + ", ".join(PetStatus.values) + ".")
        return self.cleaned_data["status"]


class PetFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=PetStatus.choices)
    species = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Pet
        fields = ["status", "species"]
        form = PetFilterForm


class ImageUploadSerializer(StrictSerializer):
    image = serializers.FileField(help_text="JPEG, PNG, GIF or WebP; at most 5 MB.")


class ImageInfoSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["JPEG", "PNG", "GIF", "WEBP"], help_text="The upload's format."
    )
    original_width = serializers.IntegerField()
    original_height = serializers.IntegerField()
    width = serializers.IntegerField(help_text="The thumbnail's width (at most 256).")
    height = serializers.IntegerField(help_text="The thumbnail's height (at most 256).")

    class Meta:
        ref_name = "ImageInfo"


class PetImageSerializer(PetSerializer):
    """A pet after its image upload, with what was made of the image."""

    image = ImageInfoSerializer(read_only=True)

    class Meta(PetSerializer.Meta):
        fields = [*PetSerializer.Meta.fields, "image"]
        ref_name = "PetWithImage"


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "species",
                OpenApiTypes.STR,
                description="Only pets of this species (case-insensitive).",
                pattern=r"^[^\x00]*$",
            )
        ],
        extensions=refusals(VALIDATION_ERROR),
    ),
)
class PetViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Pets of the calling customer. Another customer's pet answers 404."""

    serializer_class = PetSerializer
    filterset_class = PetFilter
    lookup_value_converter = "int"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return Pet.objects.none()
        return Pet.objects.filter(owner_id=self.request.user.customer_id)

    def perform_create(self, serializer):
        serializer.save(owner_id=self.request.user.customer_id)

    def perform_destroy(self, instance):
        name = instance.thumbnail.name if instance.thumbnail else None
        storage = instance.thumbnail.storage
        instance.delete()
        if name:  # the row is gone for good only once committed
            transaction.on_commit(lambda: storage.delete(name))

    @extend_schema(
        request={"multipart/form-data": ImageUploadSerializer},
        responses=PetImageSerializer,
        summary="Upload a pet image (made into a thumbnail)",
        extensions=refusals(InvalidImage, ImageTooLarge),
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[MultiPartParser],  # ours: refuses NUL characters in form fields
        url_path="image",
        url_name="image",
    )
    def image(self, request, pk=None):
        pet = self.get_object()
        upload = ImageUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        thumbnail, info = make_thumbnail(upload.validated_data["image"])
        with transaction.atomic():
            old = pet.thumbnail.name if pet.thumbnail else None
            pet.thumbnail.save(thumbnail.name, thumbnail, save=True)
        if old and old != pet.thumbnail.name:
            pet.thumbnail.storage.delete(old)
        return Response({**PetSerializer(pet, context={"request": request}).data, "image": info})


class AnalyticsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        total = serializers.IntegerField()
        by_status = serializers.DictField(child=serializers.IntegerField())
        by_species = serializers.DictField(child=serializers.IntegerField())

        class Meta:
            ref_name = "Analytics"

    @extend_schema(summary="Counts of your pets by status and species", responses=OutputSerializer)
    def get(self, request):
        pets = Pet.objects.filter(owner_id=request.user.customer_id)
        by_status = dict(pets.values_list("status").annotate(n=Count("id")))
        by_species = dict(pets.exclude(species="").values_list("species").annotate(n=Count("id")))
        return Response(
            {
                "total": sum(by_status.values()),
                "by_status": {status: by_status.get(status, 0) for status in PetStatus.values},
                "by_species": by_species,
            }
        )


class JsonWhateverAccepted(BaseContentNegotiation):
    """An image URL is fetched by browsers and tools that ask for image/*: a refusal is JSON
    all the same, never a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ThumbnailApi(APIView):
    """The JPEG behind a pet's `thumbnail_url`. The signed URL is the credential (no API key, not
    metered): see petstore/thumbnails.py."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = JsonWhateverAccepted

    @extend_schema(
        auth=[],
        operation_id="thumbnails_retrieve",
        summary="A pet's thumbnail, by the signed URL in the pet's thumbnail_url",
        description=(
            "The pet's JPEG thumbnail. Take the URL from the pet's `thumbnail_url`: it is signed, "
            "expires after an hour (PET_IMAGE_URL_MAX_AGE), needs no API key and is not metered."
        ),
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="JPEG"),
        },
        extensions=refusals(InvalidThumbnailUrl, ExpiredThumbnailUrl, ThumbnailNotFound),
    )
    def get(self, request, token: str):
        pet, seconds_left = thumbnail_for_token(token)
        try:
            image = pet.thumbnail.open("rb")
        except FileNotFoundError:  # removed between the check and the read
            raise ThumbnailNotFound(headers=NO_STORE) from None
        response = FileResponse(image, content_type="image/jpeg")
        # The owner's browser may keep it while the URL lasts; shared caches never.
        response["Cache-Control"] = f"private, max-age={seconds_left}"
        return response
