"""The `stripe` library, configured once from settings, and its errors turned into ours.

Everything that talks to Stripe goes through `stripe_call`, so a declined card is a 402, a bad
request a 400 and an unreachable Stripe a 503 — never a 500 — and the caller changes nothing
locally when it raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import stripe
from django.conf import settings

from billing.errors import CardDeclined, InvalidPaymentMethod, StripeUnavailable
from core.errors import ApplicationError
from pricing.promotions import PromotionCodeInvalid

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StripeRequestError(ApplicationError):
    code = "billing_request_invalid"


def configure() -> None:
    """Point the library at Stripe (or the local Stripe server) with our key and pinned version.
    dj-stripe passes the same key explicitly on its own calls."""
    stripe.api_key = settings.STRIPE_TEST_SECRET_KEY
    stripe.api_version = settings.STRIPE_API_VERSION
    if settings.STRIPE_API_BASE:
        stripe.api_base = settings.STRIPE_API_BASE
    # Retries carry an idempotency key (the library adds one), so a retried create is safe.
    stripe.max_network_retries = 2


def stripe_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except stripe.CardError as exc:
        raise CardDeclined(
            exc.user_message or "The card was declined.",
            extra={"decline_code": getattr(exc.error, "decline_code", None) or exc.code},
        ) from exc
    except stripe.InvalidRequestError as exc:
        if exc.param and "payment_method" in exc.param:
            raise InvalidPaymentMethod(exc.user_message or str(exc.user_message)) from exc
        if exc.param and ("promotion_code" in exc.param or "coupon" in exc.param):
            # Stripe's own check of a code ours accepted (used up meanwhile, restrictions).
            raise PromotionCodeInvalid(exc.user_message or None) from exc
        logger.warning("stripe refused a request: %s", exc)
        raise StripeRequestError(exc.user_message or "Stripe refused the request.") from exc
    except (
        stripe.APIConnectionError,
        stripe.RateLimitError,
        stripe.APIError,
        stripe.AuthenticationError,
        stripe.PermissionError,
    ) as exc:
        logger.error("stripe unavailable: %s", exc)
        raise StripeUnavailable() from exc


def stripe_retrieve(fn: Callable[..., T], object_id: str, **kwargs: Any) -> T | None:
    """Retrieve an object, or None if Stripe has no such object."""
    try:
        return fn(object_id, **kwargs)
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return None
        return stripe_call(fn, object_id, **kwargs)  # re-raised as one of ours
    except stripe.StripeError:
        return stripe_call(fn, object_id, **kwargs)


def djstripe_sync(model: Any, obj: Any) -> Any:
    """Mirror a Stripe object into dj-stripe's tables (the admin shows them). Best effort: the
    webhook for the same change syncs it again."""
    try:
        return model.sync_from_stripe_data(obj, api_key=settings.STRIPE_TEST_SECRET_KEY)
    except Exception:  # dj-stripe sync must never break a billing operation
        name = type(obj).__name__
        logger.exception("dj-stripe could not sync %s %s", name, getattr(obj, "id", None))
        return None
