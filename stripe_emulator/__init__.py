"""A small, stateful imitation of the Stripe API for local development and tests.

There is no network here, so the real ``stripe`` library and dj-stripe talk HTTP to this
server on loopback. Objects are rendered as Stripe renders them at ``API_VERSION`` (the
version dj-stripe 2.11 pins).

Layout:

* ``server`` (``StripeServer``: HTTP listener, store, events, webhooks), ``__main__`` (CLI),
  ``testing`` (``running_stripe_server`` for tests), ``control`` (``/_control/...``).
* ``app``: routing, authentication, form decoding, idempotency keys, error bodies.
* ``state``: the thread-safe store with transactions and JSON persistence; ``clock``.
* ``render``: private fields, list objects and paging, ``expand[]``.
* ``events`` and ``webhooks``: event records, signed, ordered, retried delivery.
* ``billing``: subscriptions, invoices, prorations, payments and dunning;
  ``invoicing``: amount math (tiers, decimals, rounding) and billing periods.
* ``resources``: one module per API resource family.
"""

from __future__ import annotations

API_VERSION = "2026-05-27.dahlia"

__all__ = ["API_VERSION"]
