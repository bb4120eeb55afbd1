"""The ledger partitioned by month on PostgreSQL (metering/partitions.py): the flush's upsert
lands in the month's partition, partitions are made ahead idempotently, stray rows leave the
default partition, old months drop by hand, and the usage and metrics queries read only the
partitions of the months they ask for (their EXPLAIN, asserted). SQLite stays unpartitioned."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metering import partitions, selectors, services
from metering.models import UsageRecord

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="declarative partitioning is PostgreSQL's"
)
PARTITION = re.compile(r"metering_usagerecord_(p\d{4}_\d{2}|default)")


def partition_of(record: UsageRecord) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM metering_usagerecord WHERE id = %s",
            [record.pk],
        )
        return cursor.fetchone()[0]


def partitions_read(sql: str, params) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {f"metering_usagerecord_{m}" for m in PARTITION.findall(plan)}


@pytest.mark.django_db
def test_sqlite_keeps_a_plain_table():
    if connection.vendor == "postgresql":
        assert partitions.is_partitioned()
    else:
        assert not partitions.is_partitioned()
        assert partitions.ledger_partitions_ensure() == []
        assert partitions.ledger_partitions() == []


@postgres_only
@pytest.mark.django_db
def test_the_flush_upserts_into_the_months_partition(pro_client):
    for _ in range(2):
        assert pro_client.get("/api/v1/pets").status_code == 200
        services.usage_flush()
    record = UsageRecord.objects.get(customer=pro_client.customer)
    assert (record.calls, record.units) == (2, 2)  # one row, added to: the unique key holds
    assert partition_of(record) == partitions.partition_name(record.hour)


@postgres_only
@pytest.mark.django_db
def test_partitions_are_created_ahead_once():
    now = datetime(2031, 11, 5, tzinfo=UTC)
    created = partitions.ledger_partitions_ensure(now=now)
    assert created == [
        "metering_usagerecord_p2031_11",
        "metering_usagerecord_p2031_12",
        "metering_usagerecord_p2032_01",
        "metering_usagerecord_p2032_02",
    ]
    assert partitions.ledger_partitions_ensure(now=now) == []


@postgres_only
@pytest.mark.django_db
def test_a_row_beyond_the_partitions_waits_in_default_then_moves_to_its_month(make_customer):
    customer, _ = make_customer()
    stray = UsageRecord.objects.create(
        customer=customer, endpoint="GET /api/v1/pets", hour=datetime(2035, 6, 1, 7, tzinfo=UTC)
    )
    assert partition_of(stray) == partitions.DEFAULT_PARTITION
    created = partitions.ledger_partitions_ensure()
    assert "metering_usagerecord_p2035_06" in created
    assert partition_of(stray) == "metering_usagerecord_p2035_06"
    default = {p.name: p.rows for p in partitions.ledger_partitions()}
    assert default[partitions.DEFAULT_PARTITION] == 0


@postgres_only
@pytest.mark.django_db
def test_old_months_are_dropped_only_when_asked_and_confirmed():
    partitions.ledger_partitions_ensure(now=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(CommandError, match="--yes"):
        call_command("ledger_partitions", "--drop-before", "2020-03")
    assert "metering_usagerecord_p2020_01" in {p.name for p in partitions.ledger_partitions()}
    call_command("ledger_partitions", "--drop-before", "2020-03", "--yes")
    names = {p.name for p in partitions.ledger_partitions()}
    assert {"metering_usagerecord_p2020_01", "metering_usagerecord_p2020_02"}.isdisjoint(names)
    assert {"metering_usagerecord_p2020_03", partitions.DEFAULT_PARTITION} <= names


@postgres_only
@pytest.mark.django_db
def test_usage_and_metrics_queries_read_only_their_months_partitions(make_customer):
    from console.metrics.queries import _ledger_usage

    partitions.ledger_partitions_ensure(now=datetime(2030, 1, 1, tzinfo=UTC))  # 2030-01..04
    customer, _ = make_customer()
    start, end = datetime(2030, 2, 1, tzinfo=UTC), datetime(2030, 3, 1, tzinfo=UTC)
    with CaptureQueriesContext(connection) as usage:
        selectors.customer_usage(customer_id=customer.pk, start=start, end=end)
    with CaptureQueriesContext(connection) as metrics:
        list(_ledger_usage([customer.pk], start, end, by_endpoint=True))
    ledger_reads = [
        q["sql"]
        for q in [*usage.captured_queries, *metrics.captured_queries]
        if "metering_usagerecord" in q["sql"]
    ]
    assert len(ledger_reads) >= 2
    for sql in ledger_reads:
        assert partitions_read(sql, None) == {"metering_usagerecord_p2030_02"}, sql
    # A quarter reads its three months, and nothing else.
    quarter = UsageRecord.objects.filter(
        customer=customer, hour__gte=start, hour__lt=datetime(2030, 5, 1, tzinfo=UTC)
    )
    sql, params = quarter.query.sql_with_params()
    assert partitions_read(sql, params) == {
        "metering_usagerecord_p2030_02",
        "metering_usagerecord_p2030_03",
        "metering_usagerecord_p2030_04",
    }
