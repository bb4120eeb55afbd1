"""Outbound webhooks, the writes: endpoints, events turned into deliveries, delivery attempts
with their retry schedule, resends, and disabling an endpoint that has failed for 3 days.

Delivery is at least once, each attempt claimed like healthchecks claims work: a conditional
`UPDATE … SET locked_until = … WHERE status = 'pending' AND next_attempt_at <= now AND (not
locked)` that one worker wins. The first attempt is queued when the event commits; retries are
due at `next_attempt_at` and queued by the `webhook_deliveries_due` beat task (every minute), so
no task waits for hours in a broker and a lost task is picked up again.

Retry schedule (exponential backoff, capped): after the n-th failed attempt the next one is
`WEBHOOK_RETRY_BASE_SECONDS × 2^(n-1)` later, at most `WEBHOOK_RETRY_MAX_DELAY_SECONDS`, and
never later than `WEBHOOK_RETRY_WINDOW_SECONDS` after the event (3 days), where a last attempt
is made: with the defaults, 1 min, 2, 4, … 512 min, then every 12 h, and the last at 72 h: 16
attempts. A delivery still failing then is `failed` (a resend from the dashboard tries again).
An endpoint whose attempts have all failed for the window is disabled and its owner emailed.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Customer, Feature
from alerts.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from alerts.webhooks.addresses import Answer, InvalidWebhookUrl, post_pinned, target_resolve
from alerts.webhooks.secrets import secret_decrypt, secret_encrypt, secret_generate
from alerts.webhooks.signing import HEADER, signature_header
from core.email import email_send
from core.errors import ApplicationError, Conflict
from core.events import EVENT_TYPES, DomainEvent
from core.navigation import page_url, upgrade_url
from metering.errors import FeatureNotInPlan

logger = logging.getLogger(__name__)

MAX_ENDPOINTS = 16
CLAIM_SECONDS = 60  # a worker's hold on an attempt: longer than its request timeout
USER_AGENT = "PetStore-Webhooks/1.0 (+https://petstore.example/docs/webhooks)"


class WebhookLimitReached(Conflict):
    code = "webhook_limit_reached"


class InvalidEvents(ApplicationError):
    code = "validation_error"


class EndpointDisabled(Conflict):
    code = "endpoint_disabled"


def _window() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)


def retry_delay(failed_attempts: int) -> timedelta:
    """The wait after the `failed_attempts`-th failed attempt (1, 2, …)."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    cap = settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS
    return timedelta(seconds=min(base * 2 ** max(failed_attempts - 1, 0), cap))


def next_attempt_at(*, created_at: datetime, failed_attempts: int, now: datetime):
    """When to try again, or None when the retry window is over."""
    window_end = created_at + _window()
    if now >= window_end:
        return None
    return min(now + retry_delay(failed_attempts), window_end)


def plan_allows_webhooks(customer: Customer) -> None:
    plan = customer.plan
    if not plan.allows(Feature.WEBHOOKS):
        raise FeatureNotInPlan(
            f"Webhooks are not in the {plan.name} plan. Upgrade to use them.",
            extra={
                "feature": Feature.WEBHOOKS.value,
                "plan": plan.slug,
                "upgrade_url": upgrade_url(),
            },
        )


def events_clean(events) -> list[str]:
    """Known event types, each once, in the catalogue's order."""
    if not isinstance(events, list | tuple) or not events:
        raise InvalidEvents("events: give at least one event type.")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidEvents(f"events: unknown event type {unknown[0]!r}.")
    return [name for name in EVENT_TYPES if name in events]


@transaction.atomic
def webhook_endpoint_create(
    *, customer: Customer, url: str, events: list[str]
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it with its signing secret, which is never shown again."""
    plan_allows_webhooks(customer)
    events = events_clean(events)
    target_resolve(url)  # InvalidWebhookUrl: malformed, unresolvable, or a private address
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    count = WebhookEndpoint.objects.filter(customer=locked).count()
    if count >= MAX_ENDPOINTS:
        raise WebhookLimitReached(
            f"An account may have {MAX_ENDPOINTS} webhook endpoints; delete one first.",
            extra={"limit": MAX_ENDPOINTS},
        )
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        customer=locked, url=url, events=events, secret_encrypted=secret_encrypt(secret)
    )
    return endpoint, secret


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log (pending deliveries are dropped with it)."""
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Turn a disabled endpoint back on (its failed deliveries can then be resent)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=None, disabled_reason="", failing_since=None
    )
    endpoint.refresh_from_db()
    return endpoint


# --- events → deliveries ------------------------------------------------------------------------


def webhook_event_record(event: DomainEvent) -> list[int]:
    """A domain event (core.events) for a customer whose plan has webhooks and whose enabled
    endpoints subscribe to its type: store it once by id and create one delivery per endpoint,
    queued when the transaction commits. The same event again (same id) creates nothing."""
    customer = Customer.objects.select_related("plan").filter(pk=event.customer_id).first()
    if customer is None or not customer.plan.allows(Feature.WEBHOOKS):
        return []
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(customer=customer, disabled_at__isnull=True)
        if event.type in e.events
    ]
    if not endpoints:
        return []
    _, created = WebhookEvent.objects.get_or_create(
        id=event.id,
        defaults={
            "customer": customer,
            "type": event.type,
            "created_at": event.created,
            "data": event.data,
        },
    )
    if not created:
        return []
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint=e, event_id=event.id, created_at=now, next_attempt_at=now)
            for e in endpoints
        ]
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: deliveries_enqueue(ids))
    return ids


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Queue an attempt per delivery. A broker that is down loses nothing: the deliveries are
    due in the database and the `webhook_deliveries_due` task queues them again."""
    from alerts.tasks import webhook_deliver  # tasks import this module

    for delivery_id in delivery_ids:
        try:
            webhook_deliver.delay(delivery_id)
        except Exception:
            logger.warning("webhook delivery %s: could not queue; the sweep will", delivery_id)


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Pending deliveries whose attempt is due and that no worker holds."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- attempts -----------------------------------------------------------------------------------


def _claim(delivery_id: int, now: datetime) -> bool:
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + timedelta(seconds=CLAIM_SECONDS))
    )


def delivery_body(event: WebhookEvent) -> bytes:
    return json.dumps(event.payload(), separators=(",", ":"), sort_keys=True).encode()


def delivery_send(endpoint: WebhookEndpoint, event: WebhookEvent) -> Answer:
    """One signed POST of the event to the endpoint, its URL checked again (DNS rebinding)."""
    body = delivery_body(event)
    try:
        target = target_resolve(endpoint.url)
    except InvalidWebhookUrl as exc:
        return Answer(None, 0, exc.message[:300])
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER: signature_header(secret_decrypt(endpoint.secret_encrypted), body),
        "PetStore-Event-Id": event.id,
        "PetStore-Event-Type": event.type,
    }
    return post_pinned(target, body, headers, settings.WEBHOOK_TIMEOUT_SECONDS)


def webhook_delivery_attempt(*, delivery_id: int, now: datetime | None = None):
    """Attempt a due delivery unless another worker holds it or it is not due. Returns the
    updated delivery, or None when there was nothing to do."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if not delivery.endpoint.is_enabled:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.FAILED,
            next_attempt_at=None,
            locked_until=None,
            last_error="endpoint disabled",
        )
        return None
    answer = delivery_send(delivery.endpoint, delivery.event)
    return _attempt_record(delivery, answer, now)


@transaction.atomic
def _attempt_record(delivery: WebhookDelivery, answer: Answer, now: datetime) -> WebhookDelivery:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_response_code = answer.status
    delivery.last_latency_ms = answer.latency_ms
    delivery.last_error = answer.error[:300]
    delivery.locked_until = None
    endpoint = delivery.endpoint
    if answer.ok:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.next_attempt_at = None
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
            failing_since=None
        )
    else:
        delivery.next_attempt_at = next_attempt_at(
            created_at=delivery.created_at, failed_attempts=delivery.attempts, now=now
        )
        if delivery.next_attempt_at is None:
            delivery.status = WebhookDelivery.Status.FAILED
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
    delivery.save()
    if not answer.ok:
        _disable_if_failing_too_long(endpoint.pk, now)
    return delivery


def _disable_if_failing_too_long(endpoint_id: int, now: datetime) -> None:
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_id, disabled_at__isnull=True, failing_since__lte=now - _window()
    ).update(
        disabled_at=now,
        disabled_reason="Every delivery attempt failed for 3 days.",
    )
    if not disabled:
        return
    WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
    ).update(
        status=WebhookDelivery.Status.FAILED,
        next_attempt_at=None,
        locked_until=None,
        last_error="endpoint disabled",
    )
    endpoint = WebhookEndpoint.objects.select_related("customer").get(pk=endpoint_id)
    transaction.on_commit(lambda: webhook_disabled_email(endpoint))


def webhook_disabled_email(endpoint: WebhookEndpoint) -> None:
    try:
        email_send(
            to=endpoint.customer.email,
            template="alerts/emails/webhook_disabled",
            context={
                "customer": endpoint.customer,
                "endpoint": endpoint,
                "webhooks_url": page_url("webhooks"),
            },
            subject="[Pet Store API] A webhook endpoint was disabled",
        )
    except Exception:
        logger.exception("webhook endpoint %s disabled: the email failed", endpoint.pk)


@transaction.atomic
def webhook_delivery_resend(*, delivery: WebhookDelivery, now: datetime | None = None) -> None:
    """Attempt a delivery again now (the same event, the same id: receivers deduplicate)."""
    if not delivery.endpoint.is_enabled:
        raise EndpointDisabled("Enable the endpoint before resending to it.")
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now, locked_until=None
    )
    transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
