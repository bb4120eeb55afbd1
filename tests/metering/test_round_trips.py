"""The warm path costs one Redis round trip: the admission script, nothing else."""

import pytest
import redis

from metering import catalogue as catalogue_module

PETS = "/api/v1/pets"


@pytest.fixture
def redis_writes(monkeypatch):
    """Every write redis-py makes to a socket (one per command or pipeline): its first word."""
    writes: list[str] = []
    connection = redis.connection.AbstractConnection
    original = connection.send_packed_command

    def send_packed_command(self, command, check_health=True):
        first = command if isinstance(command, bytes | str) else command[0]
        first = first.encode() if isinstance(first, str) else bytes(first)
        writes.append(first.split(b"\r\n")[2].decode().upper())
        return original(self, command, check_health)

    monkeypatch.setattr(connection, "send_packed_command", send_packed_command)
    return writes


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", PETS, 200), ("post", PETS, 201), ("get", "/api/v1/analytics", 200)],
)
def test_a_warm_request_is_one_round_trip(
    pro_client, redis_writes, monkeypatch, method, path, status
):
    call = getattr(pro_client, method)
    kwargs = {"data": {"name": "Rex"}, "format": "json"} if method == "post" else {}
    for _ in range(2):  # cold: key, plan, catalogue, scripts, pending hash
        assert call(path, **kwargs).status_code == status
    # The catalogue's once-a-second version check is the only other Redis read on this path;
    # keep it out of the measured call.
    monkeypatch.setattr(catalogue_module, "CHECK_EVERY_SECONDS", 3600)
    redis_writes.clear()
    assert call(path, **kwargs).status_code == status
    assert redis_writes == ["EVALSHA"]
