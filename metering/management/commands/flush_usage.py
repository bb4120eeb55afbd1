from django.core.management.base import BaseCommand

from metering import store
from metering.services import usage_flush
from metering.services.flush import CHUNK_CUSTOMERS


class Command(BaseCommand):
    help = (
        "Flush usage counters from Redis into the ledger now (idempotent, crash-safe; shards "
        "another flush is working are skipped)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--shard",
            type=int,
            action="append",
            choices=range(store.DIRTY_SHARDS),
            metavar=f"0-{store.DIRTY_SHARDS - 1}",
            help="Only this dirty-set shard (repeatable, worked in the order given); default: all.",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=CHUNK_CUSTOMERS,
            help=f"Customers per transaction (default {CHUNK_CUSTOMERS}).",
        )

    def handle(self, *args, **options):
        result = usage_flush(shards=options["shard"], chunk_size=options["chunk_size"])
        self.stdout.write(
            f"flush {result.flush_id}: {result.batches_taken} batch(es) taken, "
            f"{result.batches_applied} applied in {result.chunks_applied} chunk(s), "
            f"{result.rows_upserted} ledger row(s) updated, {result.voids_applied} void(s) "
            f"applied; {result.shards_flushed} shard(s) flushed, {result.shards_busy} busy"
        )
