"""bench/metering.py only (METERING_BENCH_UNMETERED): the pets list as a Django team would
meter it without this product, to compare in the same run on the same view.

Keys are djangorestframework-api-key's (its model, generator and SHA-512 hasher, looked up in the
database on every request through `APIKey.objects.get_from_key`), and the rate limit is DRF's
`ScopedRateThrottle` on the default cache (django-redis), counted per key. The key's `name` holds
the customer it stands for (`customer:<id>`). Never installed in production: the packages are in
the `bench` optional dependencies, and the URL exists only with the bench setting on.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import IsAuthenticated
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_api_key.models import APIKey
from rest_framework_api_key.permissions import KeyParser

from petstore.api import PetViewSet

SCOPE = "bench_peer"


class PeerCaller:
    is_authenticated = True

    def __init__(self, customer_id: int, key_prefix: str) -> None:
        self.customer_id = customer_id
        self.pk = key_prefix  # DRF's throttles count per user pk: here, per key


class PeerKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = KeyParser().get(request)
        if not raw:
            return None
        try:
            api_key = APIKey.objects.get_from_key(raw)
        except APIKey.DoesNotExist as exc:
            raise AuthenticationFailed("invalid key") from exc
        if api_key.has_expired:
            raise AuthenticationFailed("expired key")
        return PeerCaller(int(api_key.name.split(":", 1)[1]), api_key.prefix), api_key

    def authenticate_header(self, request):
        return "Api-Key"


class PeerPetViewSet(PetViewSet):
    schema = None  # not part of the API
    authentication_classes = [PeerKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = SCOPE


def peer_key_create(customer_id: int) -> str:
    _, raw = APIKey.objects.create_key(name=f"customer:{customer_id}")
    return raw
