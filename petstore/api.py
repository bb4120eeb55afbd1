"""The Pet Store API: the product being sold. It knows nothing of metering or billing; those are
applied to it by configuration (metering middleware, endpoint table)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.http import FileResponse
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from petstore.images import make_thumbnail
from petstore.models import Pet, PetStatus
from petstore.parsers import MultiPartParser
from petstore.thumbnails import NO_STORE, ThumbnailNotFound, thumbnail_for_token, thumbnail_token


class PetSerializer(serializers.ModelSerializer):
    tags = serializers.ListField(
        child=serializers.CharField(max_length=30), max_length=20, required=False
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


class PetFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=PetStatus.choices)
    species = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Pet
        fields = ["status", "species"]


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, GIF or WebP; at most 5 MB.")


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
        responses=PetSerializer,
        summary="Upload a pet image (made into a thumbnail)",
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


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    message = serializers.CharField()

    class Meta:
        ref_name = "Error"


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
        operation_id="thumbnail_retrieve",
        summary="A pet's thumbnail, by the signed URL in the pet's thumbnail_url",
        description=(
            "The pet's JPEG thumbnail. Take the URL from the pet's `thumbnail_url`: it is signed, "
            "expires after an hour (PET_IMAGE_URL_MAX_AGE), needs no API key and is not metered."
        ),
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="JPEG"),
            403: OpenApiResponse(
                ErrorSerializer, description="invalid_signature, or url_expired: get a new URL"
            ),
            404: OpenApiResponse(ErrorSerializer, description="The image no longer exists."),
        },
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
