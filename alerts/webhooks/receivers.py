"""Domain events (core.events) become webhook deliveries: connected in AlertsConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from alerts.webhooks.services import webhook_event_record
from core.events import domain_event


@receiver(domain_event, dispatch_uid="alerts.webhooks.record")
def domain_event_to_webhooks(sender, event, **kwargs) -> None:
    webhook_event_record(event)
