"""Stripe's own definition of what each endpoint accepts, read from the ``stripe`` library.

stripe-python is generated from Stripe's OpenAPI spec for the version it pins (15.x:
``2026-05-27.dahlia``, the version this server speaks). Each service method calls
``self._request("post", "/v1/customers/{customer}", params=params)`` with ``params`` annotated
by a generated ``TypedDict`` (``CustomerUpdateParams``: keys, ``__required_keys__``, nested
``TypedDict`` classes, ``List``/``Dict`` and ``Literal`` enums). This module reads those
service modules' syntax trees (the library only names the type in an annotation under
``TYPE_CHECKING``) to map ``(method, path)`` to the ``TypedDict``, and resolves each field's
type, so that ``strict`` can check a request as Stripe does. Nothing here is hand-kept.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import stripe
from stripe import _request_options

_PLACEHOLDER = re.compile(r"<[^>]+>|\{[^}]+\}")


class NoDefinition(LookupError):
    """The library has no request type for a (method, path) this server routes."""


def path_shape(path: str) -> str:
    """``/v1/customers/<customer_id>`` and ``/v1/customers/{customer}`` -> ``/v1/customers/{}``."""
    return _PLACEHOLDER.sub("{}", path)


def _annotation_name(node: ast.expr | None) -> str | None:
    """``Optional["CustomerUpdateParams"]`` or ``"CustomerCreateParams"`` -> the class name."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Subscript):
        return _annotation_name(node.slice)
    return None


def _request_call(node: ast.AST) -> tuple[str, str] | None:
    """``self._request("get", "/v1/x/{id}".format(...), ...)`` -> ``("GET", "/v1/x/{id}")``."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("_request", "_request_stream")
        and len(node.args) >= 2
    ):
        return None
    method, path = node.args[0], node.args[1]
    if isinstance(path, ast.Call) and isinstance(path.func, ast.Attribute):
        path = path.func.value  # "...".format(...)
    if isinstance(method, ast.Constant) and isinstance(path, ast.Constant):
        return str(method.value).upper(), str(path.value)
    return None


def _service_definitions(source: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """One service module: ``(METHOD, path shape) -> (module, TypedDict name)``."""
    tree = ast.parse(source.read_text())
    imported = {
        alias.asname or alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for method in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            args = method.args.args + method.args.kwonlyargs
            name = next((_annotation_name(a.annotation) for a in args if a.arg == "params"), None)
            if name is None or name not in imported:
                continue
            for node in ast.walk(method):
                call = _request_call(node)
                if call is not None:
                    found[(call[0], path_shape(call[1]))] = (imported[name], name)
    return found


@functools.cache
def _index() -> dict[tuple[str, str], tuple[str, str]]:
    root = Path(stripe.__file__).parent
    index: dict[tuple[str, str], tuple[str, str]] = {}
    for source in sorted(root.rglob("_*_service.py")):
        index.update(_service_definitions(source))
    return index


def request_type(method: str, path: str) -> type:
    """The ``TypedDict`` stripe-python sends for ``method path`` (a route's own path syntax)."""
    try:
        module, name = _index()[(method.upper(), path_shape(path))]
    except KeyError:
        raise NoDefinition(
            f"stripe {stripe.VERSION} defines no request for {method} {path}"
        ) from None
    return getattr(importlib.import_module(module), name)


# -- field types ------------------------------------------------------------------------------
# Top-level request types extend RequestOptions (api_key, idempotency_key, ...): client-side
# options that never reach the wire. Its annotations name types of its own module.
_OPTIONS = _request_options.RequestOptions.__annotations__
_OPTIONS_NAMES: dict[str, Any] = {**vars(_request_options), "Mapping": Mapping}
try:  # the one forward reference RequestOptions keeps under TYPE_CHECKING
    from stripe._stripe_context import StripeContext

    _OPTIONS_NAMES["StripeContext"] = StripeContext
except ImportError:  # pragma: no cover - older libraries have no stripe_context option
    pass


@functools.cache
def fields(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """A request ``TypedDict``'s wire fields (name -> resolved type) and required names."""
    hints = typing.get_type_hints(cls, localns=_OPTIONS_NAMES)
    own = {
        key: hint
        for key, hint in hints.items()
        if not (key in _OPTIONS and cls.__annotations__[key] is _OPTIONS[key])
    }
    return own, frozenset(cls.__required_keys__) & own.keys()  # type: ignore[attr-defined]
