"""System checks that name a missing or bad setting (run by `manage.py check` and at start)."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

DEV_SECRET_KEY = "dev-insecure-petstore-monetization-key"


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs=None, **kwargs):
    if settings.SECRET_KEY == DEV_SECRET_KEY:
        return [
            Warning(
                "SECRET_KEY is the development default.",
                hint="Set SECRET_KEY in the environment for any shared deployment.",
                id="petstore.W001",
            )
        ]
    return []


@register()
def stripe_settings_are_consistent(app_configs=None, **kwargs):
    errors = []
    key = settings.STRIPE_TEST_SECRET_KEY
    if settings.STRIPE_API_BASE and key.startswith(("sk_live_", "rk_live_")):
        errors.append(
            Error(
                "STRIPE_API_BASE points away from Stripe while the key is a live key.",
                hint="Use a sk_test_ key with the local Stripe server.",
                id="petstore.E001",
            )
        )
    if not settings.SITE_URL.startswith(("http://", "https://")):
        errors.append(
            Error(
                f"SITE_URL must be an absolute http(s) URL, not {settings.SITE_URL!r}.",
                id="petstore.E002",
            )
        )
    return errors


@register()
def metering_settings_are_sane(app_configs=None, **kwargs):
    errors = []
    if settings.USAGE_FLUSH_SECONDS < 1 or settings.USAGE_FLUSH_SECONDS > 3600:
        errors.append(
            Error(
                "USAGE_FLUSH_SECONDS must be between 1 and 3600.",
                hint="It bounds how much usage a Redis crash could lose.",
                id="petstore.E003",
            )
        )
    if not 1 <= settings.USAGE_FLUSH_TASKS <= 16:
        errors.append(
            Error(
                "USAGE_FLUSH_TASKS must be between 1 and 16 (the dirty-set shards).",
                hint="One per process consuming the metering queue.",
                id="petstore.E006",
            )
        )
    return errors


@register()
def redis_cluster_has_a_broker(app_configs=None, **kwargs):
    if not settings.REDIS_CLUSTER:
        return []
    errors = []
    if not settings.CELERY_BROKER_URL:
        errors.append(
            Error(
                "REDIS_CLUSTER=true needs CELERY_BROKER_URL: Celery has no Redis Cluster "
                "transport.",
                hint="Point CELERY_BROKER_URL at a plain Redis (redis://host:6379/1) or at "
                "RabbitMQ (amqp://...).",
                id="petstore.E004",
            )
        )
    if urlparse(settings.REDIS_URL).path.strip("/") not in ("", "0"):
        errors.append(
            Error(
                f"REDIS_URL={settings.REDIS_URL} names a database other than 0; a Redis "
                "Cluster has only database 0.",
                id="petstore.E005",
            )
        )
    return errors
