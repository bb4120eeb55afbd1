"""The ledger's monthly partitions on PostgreSQL (metering/partitions.py): list them, create the
coming months' now, or drop old months (retention: by hand only)."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from metering import partitions


def _month(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    except ValueError as exc:
        raise CommandError(f"--drop-before wants YYYY-MM, not {text!r}") from exc


class Command(BaseCommand):
    help = (
        "List the usage ledger's monthly partitions (PostgreSQL), create the coming ones "
        "(--ensure), or drop every month before YYYY-MM (--drop-before: that usage is gone)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ensure", action="store_true", help="Create the coming months.")
        parser.add_argument("--drop-before", metavar="YYYY-MM", type=_month)
        parser.add_argument(
            "--yes", action="store_true", help="Confirm --drop-before without asking."
        )

    def handle(self, *args, ensure, drop_before, yes, **options):
        if not partitions.is_partitioned():
            self.stdout.write("The ledger is not partitioned here (SQLite, or not migrated).")
            return
        if ensure:
            created = partitions.ledger_partitions_ensure()
            self.stdout.write(f"created: {', '.join(created) or 'nothing (all there)'}")
        if drop_before:
            doomed = [
                p.name
                for p in partitions.ledger_partitions()
                if p.name != partitions.DEFAULT_PARTITION
                and p.name < partitions.partition_name(drop_before)
            ]
            if not doomed:
                self.stdout.write("nothing to drop")
            elif not yes:
                raise CommandError(
                    f"This drops {', '.join(doomed)} and every usage row in them; "
                    "run again with --yes to confirm."
                )
            else:
                dropped = partitions.ledger_partitions_drop_before(drop_before)
                self.stdout.write(f"dropped: {', '.join(dropped)}")
        for partition in partitions.ledger_partitions():
            self.stdout.write(f"{partition.name:40} {partition.rows:>12,} rows  {partition.bounds}")
