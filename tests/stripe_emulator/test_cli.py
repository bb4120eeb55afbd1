"""The command line server: prints its URL, keeps state in --state-file, stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import requests

from .conftest import API_KEY


def _start(state_file: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--port",
            "0",
            "--state-file",
            str(state_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:")
    return process, url


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_cli_persists_state_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "stripe.json"
    process, url = _start(state)
    try:
        created = requests.post(
            f"{url}/v1/customers", data={"email": "kept@example.com"}, auth=(API_KEY, ""), timeout=5
        )
        assert created.status_code == 200
        customer_id = created.json()["id"]
    finally:
        _stop(process)
    process, url = _start(state)
    try:
        kept = requests.get(f"{url}/v1/customers/{customer_id}", auth=(API_KEY, ""), timeout=5)
        assert kept.json()["email"] == "kept@example.com"
    finally:
        _stop(process)
