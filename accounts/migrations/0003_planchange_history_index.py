"""An index for the business metrics (console/metrics/): each customer's last plan change
before an instant, read as an index scan instead of sorting the whole history.

Created in SQL, outside Django's model state, because it is PostgreSQL-specific (descending
keys with INCLUDE, for index-only scans); SQLite gets the plain equivalent.
"""

from django.db import migrations

NAME = "accounts_planchange_history_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON accounts_planchange "
            "(customer_id, changed_at DESC, id DESC) INCLUDE (to_plan_id, to_mrr)"
        )
    else:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON accounts_planchange "
            "(customer_id, changed_at, id)"
        )


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_seed_plans")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
