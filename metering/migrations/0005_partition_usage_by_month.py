"""The usage ledger becomes range-partitioned by month on PostgreSQL (metering/partitions.py);
every row is moved into its month's partition. No-op on SQLite. The model does not change."""

from django.db import migrations

from metering.partitions import ledger_partition_table, ledger_unpartition_table


def forwards(apps, schema_editor):
    ledger_partition_table(schema_editor)


def backwards(apps, schema_editor):
    ledger_unpartition_table(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('metering', '0004_request_void'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
