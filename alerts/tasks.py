"""Alerts' Celery tasks: thin, each calls one service (schedule: petstore/settings.py)."""

from celery import shared_task

from alerts.services import usage_alerts_send
from alerts.webhooks.services import deliveries_due, deliveries_enqueue, webhook_delivery_attempt


@shared_task(name="alerts.tasks.send_usage_alerts", ignore_result=True)
def send_usage_alerts() -> dict:
    """Record and email usage-threshold crossings, the quota used up and forecasts passing the
    quota or the spend threshold (beat: every minute; any number of workers)."""
    run = usage_alerts_send()
    return {
        "period": run.period,
        "candidates": run.candidates,
        "recorded": run.recorded,
        "emailed": run.emailed,
        "quota_exhausted": run.exhausted,
        "forecasts": run.forecasts,
        "forecasts_emailed": run.forecasts_emailed,
    }


@shared_task(name="alerts.tasks.webhook_deliver", ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt of one delivery, if it is due and no other worker holds it (queued when its
    event commits, by a resend, and by `webhook_deliveries_due` for retries)."""
    webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="alerts.tasks.webhook_deliveries_due", ignore_result=True)
def webhook_deliveries_due() -> int:
    """Queue every delivery whose (re)try is due (beat: every minute)."""
    due = deliveries_due()
    deliveries_enqueue(due)
    return len(due)
