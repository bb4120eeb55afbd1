"""Cache invalidation: whatever changes what a key may do replaces a token in Redis, so every
process notices on its next request (see metering.grants and metering.rules)."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from redis.exceptions import RedisError

from accounts.models import Plan
from accounts.signals import customer_access_changed
from metering import store
from metering.grants import bump_customer_token
from metering.models import Endpoint
from metering.rules import rules

logger = logging.getLogger(__name__)


@receiver(customer_access_changed)
def customer_access_changed_bump_token(sender, customer_id: int, **kwargs) -> None:
    try:
        bump_customer_token(customer_id)
    except RedisError:
        # Grants also expire on their own (GRANT_TTL_SECONDS); Redis being down means no
        # metered request is served meanwhile unless METERING_FAIL_OPEN is set.
        logger.exception("metering: could not invalidate grants of customer %s", customer_id)


def _rules_bump() -> None:
    rules.invalidate()
    try:
        store.client().set(store.RULES_VERSION, uuid.uuid4().hex)
    except RedisError:
        logger.exception("metering: could not bump the rules version")


@receiver([post_save, post_delete], sender=Plan)
@receiver([post_save, post_delete], sender=Endpoint)
def rules_changed_bump_version(sender, **kwargs) -> None:
    transaction.on_commit(_rules_bump)
