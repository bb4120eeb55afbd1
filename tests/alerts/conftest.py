from __future__ import annotations

import pytest

from petstore.celery import app as celery_app
from tests.alerts.receiver import Receiver
from tests.conftest import KeyClient


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def business(make_customer):
    customer, raw = make_customer("business", "business@example.com")
    return KeyClient(raw, customer)


@pytest.fixture
def other_business(make_customer):
    customer, raw = make_customer("business", "other-business@example.com")
    return KeyClient(raw, customer)


@pytest.fixture
def celery_eager():
    """Queued tasks run at once in this process (the worker's own code path, without a
    broker); a real worker delivers in tests/integration/test_celery_worker.py."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved
