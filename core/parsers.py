"""The API's body parsers: DRF's own, refusing what no view should be handed. The API takes JSON
(`DEFAULT_PARSER_CLASSES`); the image upload alone takes multipart/form-data.

- JSON nested deeper than `MAX_JSON_DEPTH` (Python's parser itself gives up with a RecursionError
  near 1,000 levels; what it accepts below that would still reach serializers and renderers that
  recurse): 400 `invalid_request`.
- A NUL character in any string, JSON object key, or form field name or value: PostgreSQL text
  cannot hold one (the query fails), SQLite stores it and C code reading it back stops there.
  Refused here for every database alike: 400 `invalid_request`. (Query strings and paths are
  refused by `core.middleware.RequestGuardMiddleware`.)

Bodies over `DATA_UPLOAD_MAX_MEMORY_SIZE` never reach a parser: the middleware answers 413 first.
"""

from __future__ import annotations

from django.http import QueryDict
from rest_framework import parsers

from core.errors import InvalidRequest

# Our bodies are at most 3 levels deep ({"tags": [...]}); 32 leaves room for any future field.
MAX_JSON_DEPTH = 32
NUL = "\x00"
NUL_MESSAGE = "Text may not contain NUL (\\u0000) characters."


def _refuse_nested_or_nul(data: object) -> None:
    """Walks the parsed JSON without recursion: depth-limited, and no NUL in keys or strings."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                raise InvalidRequest(NUL_MESSAGE)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidRequest(f"JSON may not be nested more than {MAX_JSON_DEPTH} levels deep.")
        if isinstance(value, dict):
            for key, item in value.items():
                if NUL in key:
                    raise InvalidRequest(NUL_MESSAGE)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def _refuse_nul_fields(data: QueryDict) -> None:
    for key, values in data.lists():
        if NUL in key or any(NUL in value for value in values):
            raise InvalidRequest(NUL_MESSAGE)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidRequest(
                f"JSON may not be nested more than {MAX_JSON_DEPTH} levels deep."
            ) from None
        _refuse_nested_or_nul(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _refuse_nul_fields(result.data)
        return result
