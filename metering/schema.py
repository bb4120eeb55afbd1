"""OpenAPI: publish each operation's cost (`x-cost`, in usage units) and required feature
(`x-feature`) from the endpoint table, so clients never have to guess what a call costs."""

from __future__ import annotations

from django.db.utils import DatabaseError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from metering.models import Endpoint
from metering.rules import DEFAULT_WEIGHT, route_template


class MeteredAutoSchema(AutoSchema):
    _rules: dict | None = None

    @classmethod
    def _endpoint_rules(cls) -> dict:
        try:
            return {(e.method, e.path): e for e in Endpoint.objects.all()}
        except DatabaseError:
            return {}

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        rules = self._endpoint_rules()
        rule = rules.get((method.upper(), route_template(path)))
        auth_free = self.get_auth() == []
        if not auth_free:
            operation["x-cost"] = rule.weight if rule else DEFAULT_WEIGHT
            if rule and rule.feature:
                operation["x-feature"] = rule.feature
        return operation


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "metering.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerKey"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKeyHeader": []}, {"BearerKey": []}]  # either one, not both

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "http", "scheme": "bearer", "description": "The same key as a bearer token."},
        ]
