from django.core.management.base import BaseCommand

from metering.services import usage_flush


class Command(BaseCommand):
    help = "Flush usage counters from Redis into the ledger now (idempotent, crash-safe)."

    def handle(self, *args, **options):
        result = usage_flush()
        self.stdout.write(
            f"flush {result.flush_id}: {result.batches_taken} batch(es) taken, "
            f"{result.batches_applied} applied, {result.rows_upserted} ledger row(s) updated, "
            f"{result.voids_applied} void(s) applied"
        )
