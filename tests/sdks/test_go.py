"""The Go SDK's own suite (go test ./... in sdks/go) against the live server, and a check that
it called every operation of the schema. No network: GOPROXY=off, and the module needs nothing
outside the standard library."""

from __future__ import annotations

import re
import subprocess

from tests.sdks.conftest import REPO
from tests.sdks.tooling import go_env, require_go

USER_AGENT = "petstore-sdk-go/"


def test_the_go_suite_passes_against_the_live_server(sdk_world):
    go = require_go()
    mark = sdk_world.access_log.mark()
    result = subprocess.run(
        [go, "test", "-count=1", "-v", "./..."],
        cwd=REPO / "sdks" / "go",
        env=sdk_world.env(**go_env()),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.findall(r"^\s*--- PASS: (\S+)", result.stdout, re.M)
    skipped = re.findall(r"^\s*--- SKIP: (\S+)", result.stdout, re.M)
    assert len(passed) >= 20 and not skipped, output  # the live tests ran, none skipped
    print(f"go test: {len(passed)} passed")

    called = sdk_world.access_log.operations_called(mark, USER_AGENT, sdk_world.operations)
    missing = sorted(sdk_world.operations - called)
    assert not missing, f"the Go suite never called {missing}"
