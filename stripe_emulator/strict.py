"""Checking a request's parameters against Stripe's definition (``definitions``), as Stripe does.

Before any handler runs, the decoded form (``params.decode_form``) is walked along the
endpoint's ``TypedDict`` and the first problem is answered with Stripe's 400
``invalid_request_error``:

* a key the definition does not have: ``parameter_unknown``, "Received unknown parameter: x";
* a required key that is absent: ``parameter_missing``, "Missing required param: x.";
* an empty string where the definition has no ``Literal['']`` (Stripe's "unset"):
  ``parameter_invalid_empty``;
* an integer that does not parse: ``parameter_invalid_integer``, "Invalid integer: x";
* a value outside a ``Literal`` enum: "Invalid x: must be one of a, b, or c" with no
  ``code`` (Stripe's list of error codes has none for it, and its answers carry none);
* a hash where a string is expected (or the reverse), a bad boolean or decimal: Stripe's
  messages ("Invalid string", "Invalid boolean", ...), no ``code``.

stripe-python widens its enums to ``Literal[...] | str`` so that a value Stripe adds later does
not break type checking; the ``Literal`` is the spec's enum for the pinned version, so the
``str`` beside it is ignored here. Scalars stay the strings that came over the wire (handlers
parse them); only arrays (``items[0][price]``, ``expand[]``) become lists.
"""

from __future__ import annotations

import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Union

from stripe._stripe_object import UntypedStripeObject
from typing_extensions import is_typeddict

from .definitions import fields
from .errors import StripeError, invalid_param, missing_param

BOOLEANS = ("true", "false", "True", "False", "1", "0")


def conform(data: dict[str, Any], definition: type) -> dict[str, Any]:
    """``data`` checked against the request ``TypedDict`` ``definition``; arrays as lists."""
    return _object(data, definition, "")


def _name(prefix: str, key: str) -> str:
    return f"{prefix}[{key}]" if prefix else key


def unknown_param(param: str) -> StripeError:
    return StripeError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def _empty(param: str) -> StripeError:
    return StripeError(
        400,
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{param}' cannot be unset. You should remove '{param}' "
        "from your request or supply a non-empty value.",
        code="parameter_invalid_empty",
        param=param,
    )


def _one_of(values: list[str]) -> str:
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return f"{', '.join(values[:-1])}, or {values[-1]}"


def _is_index(key: str) -> bool:
    return key.startswith("\x00") or key.isdigit()


def _index_value(key: str) -> int:
    return int(key.lstrip("\x00"))


def _kind(tp: Any) -> str:
    """How a type is carried on the wire: "object", "array", "map", "literal", "union" or
    "scalar"."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return "union"
    if origin is Literal:
        return "literal"
    if is_typeddict(tp):  # the library's TypedDicts are typing_extensions' own
        return "object"
    if origin is list:
        return "array"
    if origin is dict or origin is UntypedStripeObject or tp is UntypedStripeObject:
        return "map"
    if tp in (str, int, float, bool, Decimal):
        return "scalar"
    raise TypeError(f"no rule for parameters of type {tp!r}")


def _conform(value: Any, tp: Any, param: str) -> Any:
    kind = _kind(tp)
    if kind in ("union", "literal"):
        options = typing.get_args(tp) if kind == "union" else (tp,)
        return _union(value, options, param)
    if value == "":
        if tp is str:
            return value
        raise _empty(param)
    if kind == "object":
        return _object(value, tp, param)
    if kind == "array":
        return _array(value, typing.get_args(tp)[0], param)
    if kind == "map":
        return _map(value, param)
    return _scalar(value, tp, param)


def _object(value: Any, definition: type, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_param(param, f"Invalid object: {param}")
    known, required = fields(definition)
    for key in value:
        if key not in known:
            raise unknown_param(_name(param, key))
    for key in sorted(required):
        if key not in value:
            raise missing_param(_name(param, key))
    return {key: _conform(item, known[key], _name(param, key)) for key, item in value.items()}


def _array(value: Any, item: Any, param: str) -> list[Any]:
    if not isinstance(value, dict) or not all(_is_index(k) for k in value):
        raise invalid_param(param, f"Invalid array: {param}")
    ordered = [value[k] for k in sorted(value, key=_index_value)]
    return [_conform(v, item, f"{param}[{i}]") for i, v in enumerate(ordered)]


def _map(value: Any, param: str) -> dict[str, str]:
    """``metadata``-like hashes of strings: keys are the caller's own."""
    if not isinstance(value, dict):
        raise invalid_param(param, f"Invalid object: {param}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid_param(_name(param, key), f"Invalid string: {_name(param, key)}")
    return value


def _scalar(value: Any, tp: type, param: str) -> str:
    if not isinstance(value, str):
        expected = {str: "string", int: "integer", bool: "boolean"}.get(tp, "decimal")
        raise invalid_param(param, f"Invalid {expected}: {param}")
    if tp is int:
        try:
            int(value)
        except ValueError:
            raise invalid_param(
                param, f"Invalid integer: {value}", code="parameter_invalid_integer"
            ) from None
    elif tp in (float, Decimal):
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise invalid_param(param, f"Invalid decimal: {value}")
    elif tp is bool and value not in BOOLEANS:
        raise invalid_param(param, f"Invalid boolean: {value}")
    return value


def _union(value: Any, options: tuple[Any, ...], param: str) -> Any:
    literals = [v for o in options if _kind(o) == "literal" for v in typing.get_args(o)]
    enum = [str(v) for v in literals if v != ""]
    # The library's `| str` beside an enum only keeps type checks open to future values.
    others = [o for o in options if _kind(o) != "literal" and not (o is str and enum)]
    if value == "":
        if "" in literals or str in others:
            return value
        raise _empty(param)
    if isinstance(value, str) and value in literals:
        return value
    structured = isinstance(value, dict)
    fitting = [o for o in others if (_kind(o) != "scalar") == structured]
    error: StripeError | None = None
    for option in fitting:
        try:
            return _conform(value, option, param)
        except StripeError as exc:
            error = error or exc
    if enum and not structured and not fitting:
        raise invalid_param(param, f"Invalid {param}: must be one of {_one_of(enum)}")
    if error is not None:
        raise error
    return _conform(value, others[0] if others else str, param)


def understood(definition: type, seen: set[type] | None = None) -> None:
    """Raise ``TypeError`` if ``definition`` (recursively) has a field type ``conform`` has no
    rule for: a newer library must not make a route silently lax."""
    seen = set() if seen is None else seen
    if definition in seen:
        return
    seen.add(definition)
    pending = list(fields(definition)[0].values())
    while pending:
        tp = pending.pop()
        kind = _kind(tp)
        if kind == "object":
            understood(tp, seen)
        elif kind in ("union", "array"):
            pending.extend(typing.get_args(tp))
