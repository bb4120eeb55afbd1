"""The quick start page (/docs/quickstart/) shows files, and these tests run those very files
against a live server, setting only PETSTORE_BASE_URL and PETSTORE_API_KEY, as a reader would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from petstore.models import Pet
from portal.views import QUICKSTART_FLOW, QUICKSTART_REGISTER, QUICKSTART_USAGE, CodeSample
from tests.sdks.conftest import REPO
from tests.sdks.tooling import go_env, require_go, require_node

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def source(sample: CodeSample) -> Path:
    return TEMPLATES / sample.template


class CodeBlocks(HTMLParser):
    """The text of every <code id=…> of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "code" and dict(attrs).get("id"):
            self._open = dict(attrs)["id"]
            self.blocks[self._open] = ""

    def handle_endtag(self, tag):
        if tag == "code":
            self._open = None

    def handle_data(self, data):
        if self._open:
            self.blocks[self._open] += data


def test_the_page_shows_the_files_these_tests_run(client, db):
    response = client.get("/docs/quickstart/", HTTP_HOST="localhost")
    assert response.status_code == 200
    page = CodeBlocks()
    page.feed(response.content.decode())
    assert page.blocks["qs-env-base"] == "export PETSTORE_BASE_URL=http://localhost"
    assert page.blocks["qs-env-key"].startswith("export PETSTORE_API_KEY=")
    for sample in (QUICKSTART_REGISTER, QUICKSTART_USAGE, *QUICKSTART_FLOW):
        assert page.blocks[f"qs-{sample.name}"] == source(sample).read_text().rstrip("\n")
    assert [s.name for s in QUICKSTART_FLOW] == ["curl", "python", "javascript", "go"]


def _run(command: list[str], world, cwd: Path, **env: str) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={
            **os.environ,
            "PETSTORE_BASE_URL": world.url,
            "PETSTORE_API_KEY": world.free_key,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _bash() -> str:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: apt-get install curl")
    return shutil.which("bash") or "/bin/bash"


def test_the_register_command(sdk_world):
    out = _run([_bash(), str(source(QUICKSTART_REGISTER))], sdk_world, REPO)
    body = json.loads(out)
    assert body["api_key"].startswith("ps_") and body["plan"] == "free"


def test_the_usage_command(sdk_world):
    body = json.loads(_run([_bash(), str(source(QUICKSTART_USAGE))], sdk_world, REPO))
    assert body["plan"]["slug"] == "free" and "estimated_bill" in body


def _curl(path: Path, tmp_path: Path) -> list[str]:
    return [_bash(), str(path)]


def _python(path: Path, tmp_path: Path) -> list[str]:
    return [sys.executable, str(path)]


def _javascript(path: Path, tmp_path: Path) -> list[str]:
    node = require_node()
    package = tmp_path / "node_modules" / "@petstore" / "sdk"
    package.parent.mkdir(parents=True)
    package.symlink_to(REPO / "sdks" / "js")  # as `npm install @petstore/sdk` would place it
    shutil.copy(path, tmp_path / "quickstart.js")
    return [node, "quickstart.js"]


def _go(path: Path, tmp_path: Path) -> list[str]:
    go = require_go()
    (tmp_path / "go.mod").write_text(
        "module quickstart\n\ngo 1.19\n\n"
        "require github.com/petstore/petstore-go v0.1.0\n\n"
        f"replace github.com/petstore/petstore-go => {REPO / 'sdks' / 'go'}\n"
    )
    shutil.copy(path, tmp_path / "main.go")
    return [go, "run", "."]


RUNNERS = {"curl": _curl, "python": _python, "javascript": _javascript, "go": _go}


@pytest.mark.parametrize("sample", QUICKSTART_FLOW, ids=lambda s: s.name)
def test_the_flow_runs_as_shown(sample, sdk_world, tmp_path):
    command = RUNNERS[sample.name](source(sample), tmp_path)
    out = _run(command, sdk_world, tmp_path, **go_env())
    buddy = Pet.objects.get(name="Buddy")
    assert buddy.status == "sold" and buddy.owner.email.startswith("sdk-free-")
    if sample.name == "curl":
        assert '"status":"sold"' in out
    else:
        assert f"Buddy (#{buddy.pk}) is sold; you had 0 pets" in out
        assert "calls left this minute: 7" in out


def test_the_readme_shows_the_same_files():
    readme = (REPO / "README.md").read_text()
    fences = {"curl": "sh", "python": "python", "javascript": "js", "go": "go"}
    for sample in QUICKSTART_FLOW:
        assert f"```{fences[sample.name]}\n{source(sample).read_text()}```" in readme, sample
    assert source(QUICKSTART_REGISTER).read_text() in readme
    assert source(QUICKSTART_USAGE).read_text() in readme
