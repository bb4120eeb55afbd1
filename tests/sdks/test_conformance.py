"""Every operation of the live OpenAPI schema has a method in every SDK, and no SDK keeps a
method for an operation the schema no longer has.

Operations are compared by (HTTP method, path template) with path parameters unnamed, so that
operationIds and parameter names can change freely. Each SDK publishes its table: Python as
`petstore_sdk.OPERATIONS`, JavaScript as `require('@petstore/sdk').OPERATIONS`, Go through
`go run ./cmd/operations`. Each SDK's own suite then has to call every entry of it (checked in
test_python.py, test_js.py and test_go.py against the server's access log)."""

from __future__ import annotations

import json
import os
import subprocess

import petstore_sdk
import pytest

from tests.sdks.conftest import REPO
from tests.sdks.coverage import normalize
from tests.sdks.tooling import go_env, require_go, require_node


def python_table() -> list[dict]:
    return [{"method": op.method, "path": op.path} for op in petstore_sdk.OPERATIONS]


def js_table() -> list[dict]:
    node = require_node()
    script = "process.stdout.write(JSON.stringify(require('./sdks/js').OPERATIONS))"
    out = subprocess.run(
        [node, "-e", script], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)


def go_table() -> list[dict]:
    go = require_go()
    out = subprocess.run(
        [go, "run", "./cmd/operations"],
        cwd=REPO / "sdks" / "go",
        env={**os.environ, **go_env()},
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return json.loads(out.stdout)


TABLES = {"python": python_table, "javascript": js_table, "go": go_table}


@pytest.mark.parametrize("sdk", TABLES)
def test_every_schema_operation_has_a_method_in_the_sdk(sdk, sdk_server):
    table = {(op["method"], normalize(op["path"])) for op in TABLES[sdk]()}
    missing = sorted(sdk_server.operations - table)
    stale = sorted(table - sdk_server.operations)
    assert not missing, f"the {sdk} SDK has no method for {missing}"
    assert not stale, f"the {sdk} SDK calls operations the schema does not have: {stale}"


def test_the_schema_is_read_whole(sdk_server):
    # A guard on the comparison itself: the live schema lists the operations the SDKs know.
    assert ("POST", "/api/v1/pets/{}/image") in sdk_server.operations
    assert ("GET", "/api/v1/pricing/quote") in sdk_server.operations
    assert len(sdk_server.operations) >= 18
