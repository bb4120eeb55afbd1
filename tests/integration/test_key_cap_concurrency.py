"""A key's own cap under concurrency: exactly `cap` units admitted, however many threads and
processes spend that key at once (the check and the count are one script: metering.store)."""

import threading
from collections import Counter

import pytest
import requests

from accounts import services as account_services
from accounts.models import ApiKey
from metering.errors import KeyCapExceeded
from metering.models import KeyUsage
from metering.services import request_admit, request_finish, usage_flush
from tests.servers import burst, gunicorn

PETS = "/api/v1/pets"


@pytest.mark.django_db(transaction=True)
def test_a_burst_through_gunicorn_admits_exactly_the_keys_cap(make_customer):
    """80 calls at once from 16 threads to 2 workers x 8 threads, on one key capped at 37 units
    (Pro's rate limit, 100 a minute, is not reached): 37 are served, 43 refused with
    key_cap_exceeded; the customer's other key is served meanwhile."""
    customer, raw = make_customer("pro")
    key = ApiKey.objects.get(customer=customer)
    account_services.api_key_caps_set(api_key=key, monthly_unit_cap=37)
    _, other_raw = account_services.api_key_create(customer=customer, name="other")
    with gunicorn(workers=2, threads=8) as url:
        result = burst(
            url,
            raw,
            clients=16,
            calls_each=5,
            meanwhile=lambda: requests.get(
                f"{url}{PETS}", headers={"X-API-Key": other_raw}, timeout=30
            ),
        )
        usage = requests.get(f"{url}/api/v1/usage", headers={"X-API-Key": raw}, timeout=30)
    statuses, errors, other = result.statuses, result.errors, result.meanwhile
    assert statuses == {200: 37, 429: 43}
    assert errors == {"key_cap_exceeded": 43}
    assert other.status_code == 200
    by_key = {row["key_id"]: row for row in usage.json()["by_key"]}
    assert by_key[key.pk]["units"] == 37 and by_key[key.pk]["refused_key_cap"] == 43
    usage_flush()
    row = KeyUsage.objects.get(key=key)
    assert row.units == 37 and row.refused_key_cap == 43


@pytest.mark.django_db(transaction=True)
def test_threads_in_one_process_admit_exactly_the_cap(make_customer):
    """8 threads admitting 2-unit writes straight through the service: a cap of 25 units admits
    12 writes (24 units), never a 13th."""
    customer, raw = make_customer("business")
    key = ApiKey.objects.get(customer=customer)
    account_services.api_key_caps_set(api_key=key, monthly_unit_cap=25)
    request_finish(request_admit(raw_key=raw, method="GET", route="api/v1/pets"), 200)  # warm
    outcomes: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait(timeout=30)
        for _ in range(10):
            try:
                admission = request_admit(raw_key=raw, method="POST", route="api/v1/pets")
            except KeyCapExceeded:
                outcome = "capped"
            else:
                request_finish(admission, 201)
                outcome = "admitted"
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes == {"admitted": 12, "capped": 68}
