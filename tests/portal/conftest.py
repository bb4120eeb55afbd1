"""Fixtures of the portal's page tests: Django test clients logged in as the owner and the
stranger of tests/conftest.py (their KeyClients call the API with their keys)."""

from __future__ import annotations

import pytest
from django.test import Client


def web_client(customer, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(customer.user)
    return client


@pytest.fixture
def owner_web(owner) -> Client:
    return web_client(owner.customer)


@pytest.fixture
def stranger_web(stranger) -> Client:
    return web_client(stranger.customer)


@pytest.fixture
def staff_web(db) -> Client:
    """A logged-in user with no Customer behind it (an operator)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username="ops", email="ops@example.com", password="x-Very-long-pass-42", is_staff=True
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Sign-up and log-in tests hash many passwords; the real hasher is the subject of none.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
