"""The Pet Store API: the product being sold. It knows nothing of metering or billing; those are
applied to it by configuration (metering middleware, endpoint table)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from petstore.images import make_thumbnail
from petstore.models import Pet, PetStatus


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
        if not pet.thumbnail:
            return None
        request = self.context.get("request")
        url = pet.thumbnail.url
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

    @extend_schema(
        request={"multipart/form-data": ImageUploadSerializer},
        responses=PetSerializer,
        summary="Upload a pet image (made into a thumbnail)",
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[MultiPartParser],
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
