"""The JavaScript SDK's own suite (node --test sdks/js/test) against the live server, and a
check that it called every operation of the schema."""

from __future__ import annotations

import subprocess

from tests.sdks.conftest import REPO
from tests.sdks.tooling import require_node, tap_counts

USER_AGENT = "petstore-sdk-js/"


def test_the_js_suite_passes_against_the_live_server(sdk_world):
    node = require_node()
    mark = sdk_world.access_log.mark()
    result = subprocess.run(
        [node, "--test", "sdks/js/test"],
        cwd=REPO,
        env=sdk_world.env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    counts = tap_counts(result.stdout)
    assert counts["fail"] == 0 and counts["pass"] >= 20, output
    assert "no live server" not in output  # the live tests ran, none skipped
    print(f"node --test: {counts}")

    called = sdk_world.access_log.operations_called(mark, USER_AGENT, sdk_world.operations)
    missing = sorted(sdk_world.operations - called)
    assert not missing, f"the JS suite never called {missing}"
