"""DRF authentication by API key. On metered routes the metering middleware has already
authenticated the key; elsewhere (or with metering off) the key is checked here."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication

from metering.errors import InvalidApiKey
from metering.grants import ApiCaller, extract_key, grant_for_key


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        caller = getattr(request._request, "api_caller", None)
        if caller is not None:
            return caller, caller.key_id
        raw = extract_key(request.META)
        if raw is None:
            return None
        grant = grant_for_key(raw)
        if grant.revoked:
            raise InvalidApiKey("This API key has been revoked.")
        caller = ApiCaller(grant)
        return caller, caller.key_id

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when no key was sent.
        return 'ApiKey realm="api", header="X-API-Key"'
