"""AlertSettings and UsageAlert now belong to the alerts app (alerts/migrations/0001). Only
Django's state changes: the tables (billing_alertsettings, billing_usagealert) and their rows
stay where they are, and the alerts models name them in `db_table`."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_alert_settings_name")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="UsageAlert"),
                migrations.DeleteModel(name="AlertSettings"),
            ],
            database_operations=[],
        )
    ]
