"""OpenAPI: publish each operation's cost (`x-cost`, in usage units) and required feature
(`x-feature`) from the endpoint table, so clients never have to guess what a call costs."""

from __future__ import annotations

from django.db.utils import DatabaseError
from drf_spectacular.openapi import AutoSchema

from metering.catalogue import DEFAULT_WEIGHT, route_template
from metering.models import Endpoint


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
