"""AlertSettings and UsageAlert, moved here from billing with their tables and rows.

The tables were created by billing/migrations/0001 and keep their names (`db_table`): this
migration creates the models in Django's state only. Their content types move from billing to
alerts, so that permissions granted on them and the admin's history of their rows follow.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import alerts.models

MOVED = ("alertsettings", "usagealert")


def content_types_move(from_app: str, to_app: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        for model in MOVED:
            old = ContentType.objects.using(db).filter(app_label=from_app, model=model).first()
            if old is None:
                continue  # a fresh database: post_migrate creates the new one
            # One made for the new label already (a migrate run that stopped halfway) holds
            # only the automatic permissions: the old one, with what was granted, wins.
            ContentType.objects.using(db).filter(app_label=to_app, model=model).delete()
            old.app_label = to_app
            old.save(update_fields=["app_label"])
        ContentType.objects.clear_cache()

    return move


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0003_planchange_history_index"),
        ("billing", "0003_alerts_move_to_the_alerts_app"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AlertSettings",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "thresholds",
                            models.JSONField(default=alerts.models.default_thresholds),
                        ),
                        ("email_enabled", models.BooleanField(default=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "customer",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="alert_settings",
                                to="accounts.customer",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "alert settings",
                        "db_table": "billing_alertsettings",
                    },
                ),
                migrations.CreateModel(
                    name="UsageAlert",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("period", models.CharField(help_text="YYYYMM", max_length=6)),
                        ("threshold", models.PositiveSmallIntegerField()),
                        ("units_used", models.BigIntegerField()),
                        ("included_units", models.BigIntegerField()),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now),
                        ),
                        ("emailed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="usage_alerts",
                                to="accounts.customer",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-created_at"],
                        "db_table": "billing_usagealert",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("customer", "period", "threshold"),
                                name="usage_alert_once_per_period",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_move("billing", "alerts"),
            content_types_move("alerts", "billing"),
        ),
    ]
