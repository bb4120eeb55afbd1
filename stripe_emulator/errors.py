"""Errors rendered exactly as Stripe's ``{"error": {...}}`` bodies."""

from __future__ import annotations

from typing import Any

DOCS = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    """An API error with Stripe's HTTP status and body fields.

    ``keep_changes`` asks the request's transaction to commit what was done before the error
    (Stripe records a failed payment attempt and emits ``invoice.payment_failed`` even though
    ``POST /v1/invoices/{id}/pay`` answers 402).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.keep_changes = keep_changes

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        return {"error": error}


def not_found(object_name: str, object_id: str, param: str = "id") -> StripeError:
    # Stripe: 404, code resource_missing, "No such customer: 'cus_x'"
    return StripeError(
        404, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param
    )


def missing_param(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid_param(param: str, message: str, code: str | None = None) -> StripeError:
    """A bad value. Stripe's error codes name only some kinds (``parameter_invalid_integer``,
    ``parameter_invalid_empty``, ...); the rest carry a message and ``param`` but no code."""
    return StripeError(400, message, code=code, param=param)


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )
