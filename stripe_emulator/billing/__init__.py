"""The subscription and invoice lifecycle: creation, changes with prorations, renewals,
payment attempts, dunning and cancellation. Resource handlers parse parameters; this module
changes state and emits the events Stripe emits.

Behaviour modelled on Stripe (API version 2026-05-27.dahlia):

* Billing periods live on subscription items (``items.data[].current_period_start/end``);
  the subscription itself has no ``current_period_*`` since 2025-03-31.basil. All items of a
  subscription share one interval and period here.
* A ``billing_cycle_anchor`` (or ``billing_cycle_anchor_config``) in the future makes the
  first period run from now to the anchor; with the default ``proration_behavior``
  (``create_prorations``) the first invoice charges that partial period prorated by seconds
  against the full interval ending at the anchor; with ``none`` it is free.
* Licensed items are billed in advance, metered items in arrears from the meter's aggregate
  over the closed period (``transform_quantity`` and tiers applied, rounded per line).
* ``payment_behavior``: ``allow_incomplete`` (default) leaves a subscription whose first
  payment fails ``incomplete``; ``error_if_incomplete`` fails the request with the card error
  and leaves nothing behind; ``default_incomplete`` does not attempt payment.
* Renewal invoices stay drafts for the account's finalization grace period (1 hour unless
  ``/_control/settings`` says otherwise, up to 72 hours); usage reported meanwhile for the closed
  period lands on them; then they are finalized and charged.
* A failed renewal leaves the invoice ``open`` (``attempted``, ``attempt_count``) and makes the
  subscription ``past_due``; Stripe's automatic retries run only if ``payment_retry_days`` is
  configured (else ``next_payment_attempt`` is null); paying, voiding or marking the invoice
  uncollectible makes the subscription ``active`` again.
* Prorations: changing a licensed item mid-period credits the unused time of the old
  price/quantity and charges the remaining time of the new one (``Unused time on ...`` /
  ``Remaining time on ...``), as pending invoice items for the next invoice
  (``create_prorations``), or invoiced and charged at once (``always_invoice``).
"""

from __future__ import annotations

from .base import LIVE_STATUSES
from .credits import Credits
from .discounts import Discounts
from .invoice_items import InvoiceItems
from .invoices import Invoices
from .payments import InvoicePayments
from .renewals import Renewals
from .subscription_changes import SubscriptionChanges
from .subscriptions import SubscriptionCreation

__all__ = ["LIVE_STATUSES", "Billing"]


class Billing(
    SubscriptionCreation,
    SubscriptionChanges,
    InvoiceItems,
    Invoices,
    InvoicePayments,
    Renewals,
    Discounts,
    Credits,
):
    """Changes state and emits events for one request (``Billing(ctx)``); each resource's part
    lives in its own module of this package."""
