"""This installation's token, and the names we give Stripe with it.

Stripe remembers an idempotency key, and a meter event's identifier, for 24 hours. Ours used to
be derived from our own primary keys alone (`petstore-customer-42`), so a second installation
sharing the Stripe account, or this one after its database was reset, sent the same key for
another request (400 `idempotency_error`) or the same identifier for other usage (dropped as
already known). Every key and identifier now starts with the installation's token, kept in the
database (`billing.Installation`, created by migration 0004 or on first use).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.models import Installation


def installation_token() -> str:
    """The token of this installation (one database query; created on first use)."""
    row = Installation.objects.order_by("pk").first()
    if row is None:
        try:
            with transaction.atomic():
                row = Installation.objects.create(pk=1)
        except IntegrityError:  # another process created it first
            row = Installation.objects.get(pk=1)
    return row.token


def stripe_key(*parts: object) -> str:
    """An idempotency key or meter-event identifier: `petstore-<token>-<parts…>` (Stripe allows
    255 characters for a key, 100 for an identifier)."""
    return "-".join(["petstore", installation_token(), *(str(p) for p in parts)])
