"""The admission script is sent as the request comes in and its answer read just before the
view, so Redis runs it while the rest of the middleware chain works. A request that never
reaches the view still has its answer read (the connection keeps no stray reply) and settled."""

import pytest
import redis
from django.http import JsonResponse

from core.periods import current_period
from metering import store

PETS = "/api/v1/pets"
events: list[str] = []


class ShortCircuit:
    """A middleware below metering: notes what Redis saw before it ran, and answers by itself
    when the request asks (X-Short-Circuit: <status>), so the view is never reached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        events.append("inner middleware")
        status = request.headers.get("X-Short-Circuit")
        if status:
            return JsonResponse({"error": "short_circuit"}, status=int(status))
        return self.get_response(request)


@pytest.fixture
def short_circuit(settings, monkeypatch):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.ShortCircuit"]
    events.clear()
    original = redis.connection.AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        first = command if isinstance(command, bytes | str) else command[0]
        first = first.encode() if isinstance(first, str) else bytes(first)
        if b"EVALSHA" in first.upper():
            events.append("EVALSHA sent")
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
    yield
    events.clear()


def _units(client) -> int:
    key = store.period_key(client.customer.pk, current_period().id)
    return int(store.client().hget(key, "units") or 0)


@pytest.mark.django_db
def test_the_script_is_on_its_way_before_the_inner_middlewares_run(pro_client, short_circuit):
    assert pro_client.get(PETS).status_code == 200  # cold: grant and period loaded
    events.clear()
    response = pro_client.get(PETS)
    assert response.status_code == 200
    assert events == ["EVALSHA sent", "inner middleware"]
    assert response["X-Usage-Cost"] == "1"


@pytest.mark.django_db
def test_a_request_stopped_before_the_view_is_settled_by_its_answer(pro_client, short_circuit):
    assert pro_client.get(PETS).status_code == 200
    before = _units(pro_client)
    refused = pro_client.get(PETS, HTTP_X_SHORT_CIRCUIT="418")
    assert refused.status_code == 418
    assert refused["X-Usage-Cost"] == "0"  # read, then refunded: not billed
    assert _units(pro_client) == before
    served = pro_client.get(PETS, HTTP_X_SHORT_CIRCUIT="200")
    assert served["X-Usage-Cost"] == "1"  # answered 2xx: billed like any other
    assert _units(pro_client) == before + 1
    # The held connection kept no stray answer: the next request reads its own.
    events.clear()
    response = pro_client.get(PETS)
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "96"
    assert events.count("EVALSHA sent") == 1
