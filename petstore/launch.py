"""gunicorn serving the project, for the tests that need real processes and for the benchmarks:
the one launcher both use (`make run` starts gunicorn through honcho and the Procfile)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from petstore.ports import free_port

BASE_DIR = Path(__file__).resolve().parent.parent


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    """Block until `url` answers at all (any status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (a loopback http URL)
                return
        except urllib.error.HTTPError:
            return  # it answered
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def gunicorn(
    *,
    env: dict[str, str],
    workers: int = 2,
    port: int | None = None,
    options: Sequence[str] = (),
    timeout: float = 30.0,
) -> Iterator[str]:
    """gunicorn with `workers` processes serving petstore.wsgi on 127.0.0.1:`port` (default: a
    free one) in the environment `env`, with more gunicorn `options`; yields its base URL once
    the API schema answers, and stops it on exit."""
    port = port or free_port()
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "petstore.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            *options,
        ],
        env=env,
        cwd=BASE_DIR,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/schema/", timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
