"""A small, stateful imitation of the Stripe API for local development and tests.

There is no network here, so the real ``stripe`` library and dj-stripe talk HTTP to this
server on loopback. Objects are rendered as Stripe renders them at ``API_VERSION`` (the
version dj-stripe 2.11 pins).

Layout:

* ``server`` (``StripeServer``: werkzeug's threaded WSGI server, store, events, webhooks),
  ``__main__`` (``python -m stripe_emulator``), ``testing`` (``running_stripe_server`` for
  tests), ``control`` (``/_control/...``).
* ``routes``: every API route (a werkzeug ``Map``); ``app``: the WSGI app: authentication,
  parameter decoding, idempotency keys, transactions, error bodies.
* ``definitions`` and ``strict``: each route's parameters as stripe-python's generated request
  types define them, checked before any handler runs (Stripe's ``parameter_unknown``,
  ``parameter_missing``, ... errors).
* ``state``: the thread-safe store with transactions and JSON persistence; ``clock``.
* ``render``: private fields, list objects and paging, ``expand[]``.
* ``events`` and ``webhooks``: event records; ordered, retried delivery signed with
  stripe-python's own ``WebhookSignature``.
* ``billing/``: the subscription and invoice lifecycle, one module per resource
  (subscriptions, subscription changes, invoice items, invoices, payments, renewals);
  ``invoicing``: amount math (tiers, decimals, rounding) and billing periods.
* ``resources/``: the request handlers, one module per API resource.

It imports no app of this project (only the ``stripe`` library and werkzeug) and is not part
of the wheel.
"""

from __future__ import annotations

API_VERSION = "2026-05-27.dahlia"

__all__ = ["API_VERSION"]
