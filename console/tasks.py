"""The console's Celery task: thin (schedule: petstore/settings.py)."""

from celery import shared_task
from django.utils import timezone

from console.reconciliation import drift_alert, month_reconciliation
from core.periods import period_containing


@shared_task(name="console.tasks.reconcile_stripe", ignore_result=True)
def reconcile_stripe() -> dict:
    """Last month and this one, every customer; staff are emailed about a new drift."""
    current = period_containing(timezone.now())
    drift = {}
    for period in (current.previous(), current):
        result = month_reconciliation(period)
        drift_alert(result)
        drift[period.label] = [result["drift_units"], result["drift_cents"]]
    return drift
