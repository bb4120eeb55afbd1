"""A database in the layout before the alerts app (main as of issue 10: AlertSettings and
UsageAlert in billing), filled by `seed_demo`, migrates to the current layout with every row kept:
the moved models keep their tables, their content types move (with the permissions granted on them
and the admin's history of their rows), and the ORM reads the same rows through the new app.

Runs real `migrate` commands in a subprocess against a scratch database of its own (a SQLite file,
or a database next to the test database on PostgreSQL). dj-stripe and django-axes are left out:
their migrations did not change and take most of a full migrate's time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.db import connection

from tests.servers import server_env

# The leaf migrations of our apps before the move (billing 0002 still holds the alert models).
BEFORE = [
    ("contenttypes", None),
    ("auth", None),
    ("admin", None),
    ("sessions", None),
    ("accounts", "0003_planchange_history_index"),
    ("metering", "0004_request_void"),
    ("billing", "0002_alert_settings_name"),
    ("petstore", "0002_move_thumbnails_to_random_names"),
]
AFTER = ["accounts", "metering", "billing", "alerts", "petstore"]
ALERTS_MODELS_ADDED = ("PeriodNotice", "WebhookEndpoint", "WebhookEvent", "WebhookDelivery")
# Keys' own caps: the per-key ledger (metering 0008) and the once-per-period notice (alerts 0003).
KEY_CAPS_MODELS_ADDED = ("metering.KeyUsage", "alerts.KeyCapNotice")
TABLES = [
    "auth_user",
    "auth_group_permissions",
    "django_admin_log",
    "django_content_type",
    "auth_permission",
    "accounts_plan",
    "accounts_customer",
    "accounts_apikey",
    "accounts_planchange",
    "metering_endpoint",
    "metering_usagerecord",
    "billing_paymentfailure",
    "billing_alertsettings",
    "billing_usagealert",
]

SCRIPT = r"""
import json, sys
import django
django.setup()
from django.core.management import call_command
from django.db import connection

phase, targets, tables = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])


def counts():
    with connection.cursor() as cursor:
        result = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            result[table] = cursor.fetchone()[0]
        return result


if phase == "before":
    for app, name in targets:
        call_command("migrate", app, *([name] if name else []), verbosity=0)
    # Today's seed_demo fills the old layout: the columns later migrations added (billing 0004:
    # a payment failure's own retry count and resolution; accounts: a plan's monthly credit and
    # trial days) are left out of its queries.
    from accounts.models import Plan
    from billing.models import PaymentFailure

    later = {PaymentFailure: ("retries", "resolution"), Plan: ("monthly_credit", "trial_days")}
    saved = {model: list(model._meta.local_fields) for model in later}
    for model, names in later.items():
        model._meta.local_fields[:] = [f for f in saved[model] if f.name not in names]
        model._meta._expire_cache()
    try:
        call_command("seed_demo", customers=60, months=3, seed=7, until="2026-10-20", verbosity=0)
    finally:
        for model in later:
            model._meta.local_fields[:] = saved[model]
            model._meta._expire_cache()
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.auth.models import Group, Permission, User
    from django.contrib.contenttypes.models import ContentType

    # What staff did with the old models: a permission granted, a change in the admin's history.
    settings_type = ContentType.objects.get(app_label="billing", model="alertsettings")
    group = Group.objects.create(name="support")
    granted = Permission.objects.get(content_type=settings_type, codename="change_alertsettings")
    group.permissions.add(granted)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM billing_alertsettings ORDER BY id LIMIT 1")
        (object_id,) = cursor.fetchone()
    LogEntry.objects.create(
        user=User.objects.create_superuser("ops", "ops@example.com", "x"),
        content_type=settings_type,
        object_id=str(object_id),
        object_repr="alert settings",
        action_flag=CHANGE,
    )
    print(json.dumps({"counts": counts(), "content_type": settings_type.pk}))
else:
    for app in targets:
        call_command("migrate", app, verbosity=0)
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from alerts.models import AlertSettings, UsageAlert

    settings_type = ContentType.objects.get_for_model(AlertSettings)
    types = ContentType.objects.filter(model__in=["alertsettings", "usagealert"])
    granted = Group.objects.get(name="support").permissions
    print(json.dumps({
        "counts": counts(),
        "content_type": settings_type.pk,
        "labels": sorted(types.values_list("app_label", "model")),
        "granted": sorted(granted.values_list("content_type__app_label", "codename")),
        "history": list(LogEntry.objects.values_list("content_type__app_label", flat=True)),
        "orm": [AlertSettings.objects.count(), UsageAlert.objects.count()],
    }))
"""


@pytest.fixture
def scratch_database(tmp_path):
    """The URL of an empty database of the test database's engine, dropped afterwards."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'layout.sqlite3'}"
        return
    name = f"{connection.settings_dict['NAME']}_layout_{uuid.uuid4().hex[:8]}"
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    test_url = server_env()["DATABASE_URL"]
    try:
        yield f"{test_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _run(database_url: str, phase: str, targets) -> dict:
    env = server_env(DATABASE_URL=database_url)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, phase, json.dumps(targets), json.dumps(TABLES)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_a_database_of_the_old_layout_migrates_with_every_row(scratch_database):
    before = _run(scratch_database, "before", BEFORE)
    counts = before["counts"]
    # seed_demo filled what the metrics and the console read, alerts and payment failures too.
    for table in ("accounts_customer", "metering_usagerecord", "billing_alertsettings"):
        assert counts[table] > 0, table
    assert counts["billing_usagealert"] > 0 and counts["billing_paymentfailure"] > 0

    after = _run(scratch_database, "after", AFTER)
    # Not a row lost or added, content types included, but for the models added since
    # (billing 0004: Installation, PeriodClose, EventDestination, ThinEvent; alerts 0002:
    # PeriodNotice, WebhookEndpoint, WebhookEvent, WebhookDelivery; billing: CreditEntry, Trial),
    # 4 permissions each; and the keys' caps models.
    new_models = 4 + len(ALERTS_MODELS_ADDED) + 2 + len(KEY_CAPS_MODELS_ADDED)
    expected = {
        **counts,
        "django_content_type": counts["django_content_type"] + new_models,
        "auth_permission": counts["auth_permission"] + 4 * new_models,
    }
    assert after["counts"] == expected
    assert after["content_type"] == before["content_type"]  # the same row, relabelled
    assert after["labels"] == [["alerts", "alertsettings"], ["alerts", "usagealert"]]
    assert after["granted"] == [["alerts", "change_alertsettings"]]
    assert after["history"] == ["alerts"]
    assert after["orm"] == [counts["billing_alertsettings"], counts["billing_usagealert"]]
