"""The benchmark's extra URLs (bench/metering.py) exist only with METERING_BENCH_UNMETERED on."""

import pytest
from django.urls import Resolver404, resolve


@pytest.mark.parametrize("path", ["/bench/unmetered/pets", "/bench/peer/pets"])
def test_bench_urls_are_absent_by_default(path, settings):
    assert not settings.METERING_BENCH_UNMETERED
    assert "rest_framework_api_key" not in settings.INSTALLED_APPS
    with pytest.raises(Resolver404):
        resolve(path)
