import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from console.reconciliation import drift_alert, month_reconciliation
from core.periods import parse_month, period_containing


class Command(BaseCommand):
    help = (
        "Reconcile a month (default: last month) for every customer: the ledger, our meter "
        "reports, Stripe's meter totals, its invoices and our pricing engine's quote. Prints the "
        "JSON of /admin/reconciliation.json; emails staff about a new drift. For accounts larger "
        "than the page covers (about two Stripe calls per customer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM")

    def handle(self, *args, month=None, **options):
        try:
            period = parse_month(month) if month else period_containing(timezone.now()).previous()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        result = month_reconciliation(period)
        drift_alert(result)
        self.stdout.write(json.dumps(result, indent=2))
        if result["drift_units"] or result["drift_cents"]:
            self.stderr.write(
                f"drift in {result['month']}: {result['drift_units']} unit(s), "
                f"{result['drift_cents']} cent(s)"
            )
