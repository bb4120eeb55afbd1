"""Billing's Celery tasks: thin, each calls one service (schedule: petstore/settings.py)."""

from celery import shared_task

from billing.credits import credits_period_start
from billing.dunning import dunning_run
from billing.meter_errors import meter_reports_retry
from billing.periods import billing_period_close
from billing.reporting import usage_report_to_stripe
from billing.trials import trial_reminders_due


@shared_task(name="billing.tasks.report_usage_to_stripe", ignore_result=True)
def report_usage_to_stripe() -> dict:
    retried = meter_reports_retry()  # reports Stripe refused, whose cause was fixed since
    result = usage_report_to_stripe()
    return {
        "created": result.created,
        "sent": result.sent,
        "failed": result.failed,
        "retried": retried.retried,
    }


@shared_task(name="billing.tasks.dunning", ignore_result=True)
def dunning() -> dict:
    result = dunning_run()
    return {
        "retried": result.retried,
        "recovered": result.recovered,
        "downgraded": result.downgraded,
        "forgiven": result.forgiven,
        "errors": result.errors,
    }


@shared_task(name="billing.tasks.close_billing_periods", ignore_result=True)
def close_billing_periods() -> dict | None:
    result = billing_period_close()
    credits = credits_period_start()  # monthly credits, and what credits paid of the closed one
    if result is None:
        return credits or None
    return {"period": result.period, "created": result.created, **credits}


@shared_task(name="billing.tasks.send_trial_reminders", ignore_result=True)
def send_trial_reminders() -> dict:
    """Trial-ending reminders the `trial_will_end` webhook did not send (once each)."""
    return {"sent": trial_reminders_due()}
