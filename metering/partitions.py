"""The usage ledger partitioned by month on PostgreSQL (docs/scaling.md, "The ledger").

`metering_usagerecord` is range-partitioned on `hour`, one partition per calendar month (UTC),
named `metering_usagerecord_pYYYY_MM`, plus a DEFAULT partition. The model stays a plain Django
model: only the table underneath changes, through migration 0005 (which calls
`ledger_partition_table`). SQLite stays unpartitioned: every function here is a no-op there.

- Partitions are created ahead by the beat task `metering.tasks.ledger_partitions_ensure` (daily,
  the current month and the next LEDGER_MONTHS_AHEAD), idempotently.
- Out-of-range rows (a partition not created in time: beat stopped for months, a clock far off)
  land in the DEFAULT partition instead of failing the flush: a flush that fails stops billing for
  everyone in its chunk, an unpruned default partition only costs speed. The same task moves any
  such rows into their month's new partition, and `manage.py ledger_partitions` shows how many
  rows sit in the default partition (0 in a healthy system).
- Retention is a manual step: `manage.py ledger_partitions --drop-before YYYY-MM` drops whole
  months (instant, no DELETE), never automatically: invoices and disputes may need old usage.

Unique constraints of a partitioned table must contain the partition key: the ledger's
(customer, endpoint, hour) does, and the primary key becomes (id, hour); `id` stays unique in
practice (one sequence) and Django keeps using it as the model's pk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from core.periods import period_containing

TABLE = "metering_usagerecord"
DEFAULT_PARTITION = f"{TABLE}_default"
LEDGER_MONTHS_AHEAD = 3
# pg_advisory_xact_lock key serialising partition changes ('mpar').
_LOCK = 0x6D706172


def _month_start(moment: datetime) -> datetime:
    return period_containing(moment).start


def partition_name(month: datetime) -> str:
    return f"{TABLE}_p{month:%Y_%m}"


def _bounds(month: datetime) -> str:
    period = period_containing(month)
    return f"FROM ('{period.start:%Y-%m-%d} 00:00:00+00') TO ('{period.end:%Y-%m-%d} 00:00:00+00')"


def is_partitioned(cursor=None) -> bool:
    if connection.vendor != "postgresql":
        return False
    own = cursor is None
    cursor = cursor or connection.cursor()
    try:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        return cursor.fetchone() is not None
    finally:
        if own:
            cursor.close()


def ledger_partition_table(schema_editor=None) -> None:
    """Turn the plain ledger table into the partitioned one, keeping every row, the column
    defaults, the constraint and index names, and the id sequence (migration 0005; the test
    suite runs it on its PostgreSQL database too). No-op on SQLite or when already done."""
    conn = schema_editor.connection if schema_editor else connection
    if conn.vendor != "postgresql":
        return
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        if cursor.fetchone():
            return
        old = f"{TABLE}_unpartitioned"
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY contype",
            [TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT "
            "IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [TABLE, TABLE],
        )
        indexes = cursor.fetchall()
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (hour)"
        )
        cursor.execute(f"SELECT min(hour), max(hour), max(id) FROM {old}")  # noqa: S608
        first, latest, last_id = cursor.fetchone()
        now = datetime.now(UTC)
        period = period_containing(min(first, now) if first else now)
        until = period_containing(max(latest, now) if latest else now).shifted(LEDGER_MONTHS_AHEAD)
        while period.start <= until.start:
            cursor.execute(
                f"CREATE TABLE {partition_name(period.start)} PARTITION OF {TABLE} "
                f"FOR VALUES {_bounds(period.start)}"
            )
            period = period.next()
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608
        cursor.execute(f"DROP TABLE {old}")  # with its identity sequence and index names
        sequence = f"{TABLE}_id_seq"
        cursor.execute(f"CREATE SEQUENCE {sequence} OWNED BY {TABLE}.id")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        if last_id:
            cursor.execute("SELECT setval(%s, %s)", [sequence, last_id])
        for name, kind, definition in constraints:
            if kind == "p":
                definition = "PRIMARY KEY (id, hour)"
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)


def ledger_unpartition_table(schema_editor=None) -> None:
    """Migration 0005 backwards: a plain table again, every row kept."""
    conn = schema_editor.connection if schema_editor else connection
    if conn.vendor != "postgresql":
        return
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        if not cursor.fetchone():
            return
        old = f"{TABLE}_partitioned"
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND conparentid = 0 ORDER BY contype",
            [TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT "
            "IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [TABLE, TABLE],
        )
        indexes = cursor.fetchall()
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS)")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608
        cursor.execute(f"SELECT max(id) FROM {TABLE}")  # noqa: S608
        (last_id,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id DROP DEFAULT")
        cursor.execute(f"DROP TABLE {old} CASCADE")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        if last_id:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), %s)", [last_id])
        for name, kind, definition in constraints:
            if kind == "p":
                definition = "PRIMARY KEY (id)"
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)


@dataclass
class Partition:
    name: str
    bounds: str
    rows: int  # estimated (pg_class.reltuples), exact for the default partition


def ledger_partitions() -> list[Partition]:
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), greatest(c.reltuples, 0) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [TABLE],
        )
        found = [Partition(name, bounds, int(rows)) for name, bounds, rows in cursor.fetchall()]
        for partition in found:
            if partition.name == DEFAULT_PARTITION:
                cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")  # noqa: S608
                partition.rows = cursor.fetchone()[0]
    return found


def ledger_partitions_ensure(
    *, months_ahead: int = LEDGER_MONTHS_AHEAD, now: datetime | None = None
) -> list[str]:
    """Create the monthly partitions from the current month to `months_ahead` months on, and
    one for any month that has rows in the default partition (moving them in). Idempotent;
    returns the partitions created."""
    if not is_partitioned():
        return []
    current = period_containing(now or datetime.now(UTC))
    months = {current.shifted(n).start for n in range(months_ahead + 1)}
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', hour AT TIME ZONE 'UTC') "  # noqa: S608
            f"FROM {DEFAULT_PARTITION}"
        )
        months |= {row[0].replace(tzinfo=UTC) for row in cursor.fetchall()}
        existing = {p.name for p in ledger_partitions()}
        for month in sorted(months):
            name = partition_name(month)
            if name in existing:
                continue
            end = period_containing(month).end
            cursor.execute(
                f"SELECT count(*) FROM {DEFAULT_PARTITION} "  # noqa: S608
                "WHERE hour >= %s AND hour < %s",
                [month, end],
            )
            if cursor.fetchone()[0]:
                # Rows of that month wait in the default partition: move them into a table of
                # their own, then attach it (PostgreSQL refuses a new partition whose range
                # still has rows in the default one).
                cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)")
                cursor.execute(
                    f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608
                    "WHERE hour >= %s AND hour < %s RETURNING *) "
                    f"INSERT INTO {name} SELECT * FROM moved",
                    [month, end],
                )
                cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} {_for(month)}")
            else:
                cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} {_for(month)}")
            created.append(name)
    return created


def _for(month: datetime) -> str:
    return f"FOR VALUES {_bounds(month)}"


def ledger_partitions_drop_before(month: datetime) -> list[str]:
    """Drop every monthly partition that ends on or before `month` (retention, by hand)."""
    if not is_partitioned():
        return []
    cutoff = partition_name(_month_start(month))
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        for partition in ledger_partitions():
            if partition.name != DEFAULT_PARTITION and partition.name < cutoff:
                cursor.execute(f"DROP TABLE {partition.name}")
                dropped.append(partition.name)
    return dropped
