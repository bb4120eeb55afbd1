"""Alerts' Celery tasks: thin, each calls one service (schedule: petstore/settings.py)."""

from celery import shared_task

from alerts.services import forecast_alerts_run, usage_alerts_send
from alerts.webhooks.services import deliveries_due, deliveries_enqueue, webhook_delivery_attempt


@shared_task(name="alerts.tasks.send_usage_alerts", ignore_result=True)
def send_usage_alerts() -> dict:
    """Record and email usage-threshold crossings, and record the quota used up (beat: every
    minute; any number of workers)."""
    run = usage_alerts_send()
    return {
        "period": run.period,
        "candidates": run.candidates,
        "recorded": run.recorded,
        "emailed": run.emailed,
        "quota_exhausted": run.exhausted,
        "key_caps_reached": run.key_caps,
    }


@shared_task(name="alerts.tasks.send_forecast_alerts", ignore_result=True)
def send_forecast_alerts() -> dict:
    """Warn, once per period and ahead of time, when the forecast passes the quota or the spend
    threshold (beat: hourly; any number of workers)."""
    run = forecast_alerts_run()
    return {
        "period": run.period,
        "candidates": run.candidates,
        "recorded": run.forecasts,
        "emailed": run.forecasts_emailed,
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
