"""The API's operations as (METHOD, path template), from the live schema, and the operations an
SDK's suite called, read back from the server's access log by the SDK's User-Agent."""

from __future__ import annotations

import re
import time
from pathlib import Path

import requests

Operation = tuple[str, str]
METHODS = ("get", "post", "put", "patch", "delete")
_PARAM = re.compile(r"\{[^}/]+\}")
_LINE = re.compile(r'^(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) "(?P<agent>[^"]*)"$')


def normalize(path: str) -> str:
    """'/api/v1/pets/{pk}' and '/api/v1/pets/{id}' are one operation: names are not compared."""
    return _PARAM.sub("{}", path)


def schema_operations(base_url: str) -> set[Operation]:
    schema = requests.get(f"{base_url}/api/schema/", params={"format": "json"}, timeout=30)
    schema.raise_for_status()
    return {
        (method.upper(), normalize(path))
        for path, item in schema.json()["paths"].items()
        for method in METHODS
        if method in item
    }


def _matcher(operations: set[Operation]):
    patterns = [
        (method, template, re.compile("^" + re.escape(template).replace(r"\{\}", "[^/]+") + "$"))
        for method, template in operations
    ]

    def match(method: str, path: str) -> Operation | None:
        for op_method, template, pattern in patterns:
            if op_method == method and pattern.match(path):
                return (op_method, template)
        return None

    return match


class AccessLog:
    """gunicorn's access log (tests.servers.ACCESS_LOG_FORMAT), read from a mark onwards."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def operations_called(
        self, since: int, agent_prefix: str, operations: set[Operation], wait: float = 5.0
    ) -> set[Operation]:
        """The operations requested since the mark by clients whose User-Agent starts with
        `agent_prefix`. gunicorn logs a request after answering it, so the last lines may lag
        the client by a moment: read again (for up to `wait` seconds) while some are missing."""
        deadline = time.monotonic() + wait
        while True:
            called = self._read(since, agent_prefix, operations)
            if operations <= called or time.monotonic() > deadline:
                return called
            time.sleep(0.1)

    def _read(self, since: int, agent_prefix: str, operations: set[Operation]) -> set[Operation]:
        match = _matcher(operations)
        with self.path.open() as log:
            log.seek(since)
            lines = log.read().splitlines()
        called = set()
        for line in lines:
            parsed = _LINE.match(line)
            if parsed is None or not parsed["agent"].startswith(agent_prefix):
                continue
            op = match(parsed["method"], parsed["path"])
            if op is not None:
                called.add(op)
        return called
