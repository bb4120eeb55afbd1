"""Finding the toolchains the SDK suites need; a missing one skips with what to install."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest


def _version(command: list[str]) -> tuple[int, ...]:
    out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout
    found = re.search(r"(\d+)\.(\d+)", out)
    return tuple(int(n) for n in found.groups()) if found else (0, 0)


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: apt-get install nodejs (Node 18 or later)")
    if _version([node, "--version"]) < (18, 0):
        pytest.skip("node is older than 18 (no global fetch): install Node 18 or later")
    return node


def require_go() -> str:
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed: apt-get install golang-go (Go 1.19 or later)")
    if _version([go, "version"]) < (1, 19):
        pytest.skip("go is older than 1.19: apt-get install golang-go (Go 1.19 or later)")
    return go


def tap_counts(output: str) -> dict[str, int]:
    """`# pass 12` … lines of node's test runner."""
    return {k: int(v) for k, v in re.findall(r"^# (tests|pass|fail|skipped) (\d+)$", output, re.M)}


def go_env() -> dict[str, str]:
    """Go's caches under .run/ (kept between runs, ignored by git); no module downloads."""
    from tests.sdks.conftest import REPO

    root = REPO / ".run" / "go"
    return {
        "GOCACHE": str(root / "cache"),
        "GOPATH": str(root / "path"),
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }
