"""Alerts' Celery task: thin, calls one service (schedule: petstore/settings.py)."""

from celery import shared_task

from alerts.services import usage_alerts_send


@shared_task(name="alerts.tasks.send_usage_alerts", ignore_result=True)
def send_usage_alerts() -> dict:
    """Record and email usage-threshold crossings (beat: every minute; any number of workers)."""
    run = usage_alerts_send()
    return {
        "period": run.period,
        "candidates": run.candidates,
        "recorded": run.recorded,
        "emailed": run.emailed,
    }
