import os
import subprocess
import sys

from django.core import checks
from django.test import override_settings

from petstore.checks import (
    metering_settings_are_sane,
    secret_key_is_set,
    stripe_settings_are_consistent,
)


def test_default_settings_pass_the_checks():
    assert stripe_settings_are_consistent() == []
    assert metering_settings_are_sane() == []


@override_settings(SECRET_KEY="dev-insecure-petstore-monetization-key")
def test_dev_secret_key_is_flagged_for_deploys():
    (warning,) = secret_key_is_set()
    assert warning.id == "petstore.W001" and warning.level == checks.WARNING


@override_settings(
    STRIPE_API_BASE="http://127.0.0.1:12111",
    SITE_URL="example.com",
    STRIPE_TEST_SECRET_KEY="sk_live_abcdefghijklmnopqrstuvwxyz",
)
def test_bad_stripe_and_site_settings_are_named():
    ids = {error.id for error in stripe_settings_are_consistent()}
    assert ids == {"petstore.E001", "petstore.E002"}


@override_settings(USAGE_FLUSH_SECONDS=0)
def test_bad_flush_period_is_named():
    assert [e.id for e in metering_settings_are_sane()] == ["petstore.E003"]


def test_a_redis_cluster_needs_a_broker_of_its_own_and_database_0(settings):
    from petstore.checks import redis_cluster_has_a_broker

    settings.REDIS_CLUSTER = False
    settings.CELERY_BROKER_URL = ""
    assert redis_cluster_has_a_broker() == []
    settings.REDIS_CLUSTER = True
    settings.REDIS_URL = "redis://10.0.0.5:6379/3"
    assert [e.id for e in redis_cluster_has_a_broker()] == ["petstore.E004", "petstore.E005"]
    settings.REDIS_URL = "redis://10.0.0.5:6379/0"
    settings.CELERY_BROKER_URL = "redis://10.0.0.9:6379/1"
    assert redis_cluster_has_a_broker() == []


def test_flush_tasks_are_bounded_by_the_shards(settings):
    from petstore.checks import metering_settings_are_sane

    settings.USAGE_FLUSH_TASKS = 17
    assert [e.id for e in metering_settings_are_sane()] == ["petstore.E006"]
    settings.USAGE_FLUSH_TASKS = 2
    assert metering_settings_are_sane() == []


def test_djstripe_api_host_warning_is_silenced_only_for_the_local_stripe_server():
    def warned(api_base: str) -> bool:
        env = {**os.environ, "STRIPE_API_BASE": api_base}
        out = subprocess.run(
            [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True
        )
        return "djstripe.W002" in out.stdout + out.stderr

    assert not warned("http://127.0.0.1:12111")
    assert warned("https://stripe.example.internal")
