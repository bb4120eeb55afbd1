"""Decoding of Stripe's form encoding (``items[0][price]=...``, ``expand[]=...``) and typed
access to the decoded parameters with Stripe's validation errors."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import StripeError, invalid_param, missing_param

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def _split_key(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    parts = [head]
    if rest:
        parts.extend(_KEY_PART.findall("[" + rest))
    return parts


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``[("items[0][price]", "p"), ("expand[]", "x")]`` ->
    ``{"items": {"0": {"price": "p"}}, "expand": {"\\x000": "x"}}``: Stripe's bracket syntax as
    nested hashes; ``strict.conform`` turns the arrays its definition names into lists.
    (werkzeug parses the form into flat keys; no well-kept library decodes Stripe's brackets.)"""
    root: dict[str, Any] = {}
    for key, value in pairs:
        node = root
        parts = _split_key(key)
        for i, part in enumerate(parts):
            if part == "":  # "expand[]": append
                part = f"\x00{len(node)}"
            if i == len(parts) - 1:
                node[part] = value
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
    return root


def as_wire(value: Any) -> Any:
    """A JSON value (API v2 bodies) in the shape ``decode_form`` gives v1 forms: strings,
    hashes, and arrays as hashes keyed by index."""
    if isinstance(value, dict):
        return {str(k): as_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(i): as_wire(v) for i, v in enumerate(value)}
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


class Params:
    """Typed, validating access to a (nested) parameter dict; ``prefix`` names errors' param."""

    def __init__(self, data: dict[str, Any] | None, prefix: str = "") -> None:
        self.data = data or {}
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def has(self, key: str) -> bool:
        return key in self.data

    def is_blank(self, key: str) -> bool:
        """Stripe unsets a field when it is sent as an empty string."""
        return self.data.get(key) == ""

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def str(self, key: str, *, required: bool = False, choices: tuple[str, ...] = ()) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(key))
            return None
        if not isinstance(value, str):
            raise invalid_param(self.name(key), f"Invalid string: {value!r}")
        if choices and value not in choices:
            raise invalid_param(
                self.name(key),
                f"Invalid {self.name(key)}: must be one of {', '.join(choices)}",
            )
        return value

    def int(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self.str(key, required=required)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise invalid_param(
                self.name(key), f"Invalid integer: {value}", code="parameter_invalid_integer"
            ) from None
        if minimum is not None and number < minimum:
            raise invalid_param(
                self.name(key), f"This value must be greater than or equal to {minimum}."
            )
        if maximum is not None and number > maximum:
            raise invalid_param(
                self.name(key), f"This value must be less than or equal to {maximum}."
            )
        return number

    def decimal(self, key: str, *, required: bool = False) -> Decimal | None:
        value = self.str(key, required=required)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise invalid_param(
                self.name(key), f"Invalid decimal: {value}", code="parameter_invalid_string_decimal"
            ) from None
        if not number.is_finite():
            raise invalid_param(self.name(key), f"Invalid decimal: {value}")
        return number

    def bool(self, key: str, *, default: bool | None = None) -> bool | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if value in ("true", "True", "1", True):
            return True
        if value in ("false", "False", "0", False):
            return False
        raise invalid_param(self.name(key), f"Invalid boolean: {value}")

    def sub(self, key: str) -> Params:
        value = self.data.get(key)
        if value in (None, ""):
            return Params({}, self.name(key))
        if not isinstance(value, dict):
            raise invalid_param(self.name(key), f"Invalid hash: {self.name(key)}")
        return Params(value, self.name(key))

    def list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value in (None, ""):
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):  # a lone "items[0]" style entry already decoded
            return [value]
        return [value]

    def subs(self, key: str) -> list[Params]:
        out = []
        for i, item in enumerate(self.list(key)):
            if not isinstance(item, dict):
                raise invalid_param(
                    f"{self.name(key)}[{i}]", f"Invalid hash: {self.name(key)}[{i}]"
                )
            out.append(Params(item, f"{self.name(key)}[{i}]"))
        return out

    def strings(self, key: str) -> list[str]:
        return [str(v) for v in self.list(key) if v != ""]

    def metadata(self, key: str = "metadata") -> dict[str, str] | None:
        """Metadata updates merge: ``metadata[k]=`` deletes ``k``; ``metadata=`` clears all."""
        if key not in self.data:
            return None
        value = self.data[key]
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid_param(self.name(key), "Invalid metadata: must be a hash")
        for k, v in value.items():
            if not isinstance(v, str):
                raise invalid_param(f"{self.name(key)}[{k}]", "Metadata values must be strings.")
        return value


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    if update is None:
        return current
    if update == {}:
        return {}
    merged = dict(current)
    for k, v in update.items():
        if v == "":
            merged.pop(k, None)
        else:
            merged[k] = v
    return merged


def require_one(params: Params, *keys: str) -> None:
    present = [k for k in keys if params.has(k) and not params.is_blank(k)]
    if len(present) > 1:
        raise StripeError(
            400,
            f"You may only specify one of these parameters: {', '.join(keys)}.",
            param=params.name(present[1]),
        )
