import pytest
from django.conf import settings
from django.db import connection

from metering import store


def test_backends_are_the_configured_real_servers():
    """CI sets DATABASE_URL/REDIS_URL: the suite must really run on PostgreSQL and Redis."""
    if "postgres" in settings.DATABASES["default"]["ENGINE"] or (
        __import__("os").environ.get("CI")
    ):
        assert connection.vendor == "postgresql"
    assert store.client().ping() is True
    info = store.client().info("server")
    assert info["redis_version"]


@pytest.mark.django_db
def test_demo_catalogue_is_seeded(plans):
    assert set(plans) >= {"free", "pro", "business", "enterprise"}
    assert plans["free"].included_units == 10_000
    assert plans["enterprise"].self_serve is False
