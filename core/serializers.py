"""Serializer fields as strict as the OpenAPI schema says: DRF's own are lenient.

DRF turns `0` and `1.5` into the strings "0" and "1.5", accepts "5" and 5.0 as the integer 5, and
trims whitespace before checking a length (so "Rex" followed by 200 spaces passes a 100-character
limit and is stored as "Rex"), and ignores fields it does not know (a misspelt `staus` is
dropped silently). A client reading the schema ("a string of at most 100 characters") would be
told one thing and the server would do another. These take exactly what the schema describes:
strings are JSON strings, kept as sent (no trimming), integers are JSON integers, no string holds
a NUL character (core.parsers refuses those first; the pattern says so in the schema), and a
field the operation does not take is refused, as Stripe refuses an unknown parameter (the
schema's request bodies say `additionalProperties: false`).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.validators import RegexValidator
from rest_framework import serializers

# A string without NUL characters (PostgreSQL text cannot hold one): published as the field's
# `pattern` in the schema. core.parsers refuses NULs before any field sees them. Non-empty: DRF
# never validates a blank value (it is refused, or taken as is where blank is allowed), and the
# schema of a field that allows blank is "this pattern, or empty" (drf-spectacular's oneOf), which
# must not match "" twice.
NO_NUL = RegexValidator(r"^[^\x00]+$", message="Text may not contain NUL (\\u0000) characters.")


class StrictStringMixin:
    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(NO_NUL)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    default_error_messages = {"invalid": "Not a valid string: send a JSON string."}


class StrictSlugField(StrictStringMixin, serializers.SlugField):
    pass


class StrictEmailField(StrictStringMixin, serializers.EmailField):
    pass


class StrictIntegerField(serializers.IntegerField):
    """JSON integers only: not "5", not 5.0, not true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class KnownFieldsOnly:
    """Refuses a body field the serializer does not take (read-only ones included)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(name) for name in data if name not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This operation takes no such field."] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializer(KnownFieldsOnly, serializers.Serializer):
    """A serializer that takes only its own fields (see the module's docstring)."""


class StrictModelSerializer(KnownFieldsOnly, serializers.ModelSerializer):
    """A ModelSerializer that takes only its own fields, strict text fields among them."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        **{
            model_field: StrictCharField
            for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
            if field is serializers.CharField
        },
    }
