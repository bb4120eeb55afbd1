"""Limit/offset pagination that refuses what the schema does not allow.

DRF's own ignores a `limit` or `offset` it cannot read (`limit=2.18e-134`, `limit=0`,
`offset=-5`) and quietly uses the default: the request succeeds but does not do what it says.
Here both are whole numbers written with ASCII digits, `limit` from 1 to MAX_LIMIT, `offset` from
0 to MAX_OFFSET; anything else is 400 `validation_error`, naming the parameter.
"""

from __future__ import annotations

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1
_DIGITS = re.compile(r"[0-9]+")


def _whole_number(raw: str, name: str, *, minimum: int, maximum: int) -> int:
    digits = raw.lstrip("0") or "0"  # leading zeros are allowed; huge numbers never parsed
    value = int(digits) if _DIGITS.fullmatch(raw) and len(digits) <= 12 else None
    if value is None or not minimum <= value <= maximum:
        raise ValidationError({name: [f"Must be a whole number from {minimum} to {maximum}."]})
    return value


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return _whole_number(raw, self.limit_query_param, minimum=1, maximum=self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None:
            return 0
        return _whole_number(raw, self.offset_query_param, minimum=0, maximum=MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"].update(minimum=1, maximum=self.max_limit, default=self.default_limit)
        offset["schema"].update(minimum=0, maximum=MAX_OFFSET, default=0)
        return [limit, offset]
