"""Schemathesis fuzzes the live OpenAPI schema (`/api/schema/`) of a real gunicorn: no 5xx, ever.

Two runs: with a Pro customer's key (so the gated image and analytics routes are reachable) and
with no key at all. Bounded and reproducible: deterministic generation (no randomness, no example
database) and at most `MAX_EXAMPLES` cases per operation and phase; about 1,700 cases per run,
some 10 s each. On failure the message is schemathesis' own report,
with a `curl` command reproducing each failing case.

To turn on more checks, add them to `CHECKS` (schemathesis' names, or "all").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

from accounts.models import Plan
from petstore.models import Pet
from tests.servers import gunicorn

CHECKS = ["not_a_server_error"]
PHASES = ["examples", "coverage", "fuzzing", "stateful"]
MAX_EXAMPLES = 25
# Each CLI run is bounded in case generation ever runs away (it takes some 10 s).
RUN_TIMEOUT_SECONDS = 240

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, _stripe_server, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    # Sign-ups keep their limit (5 an hour per IP): schemathesis would otherwise sign up many
    # Free customers and carry on with their keys, fuzzing little but their 10-a-minute limit.
    with gunicorn(workers=2, STRIPE_API_BASE=_stripe_server.url, MEDIA_ROOT=str(media)) as url:
        yield url


@pytest.fixture
def pro_customer(make_customer, stripe_server):
    """A Pro customer with a pet. Its plan's rate limit is lifted: at 100 calls a minute most of
    the run would be 429s and fuzz nothing behind the limiter."""
    Plan.objects.filter(slug="pro").update(rate_limit_per_minute=1_000_000)
    customer, raw = make_customer("pro", "fuzz@example.com")
    Pet.objects.create(owner=customer, name="Fuzzy")
    return customer, raw


def schemathesis_run(url: str, workdir, *args: str, protect_keys: str = "") -> str:
    """Runs the schemathesis CLI; returns its output, or fails with it (reproductions included)."""
    command = [
        os.path.join(os.path.dirname(sys.executable), "schemathesis"),
        "run",
        f"{url}/api/schema/",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        ",".join(PHASES),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        *args,
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(settings.BASE_DIR),
        "SCHEMATHESIS_HOOKS": "tests.faults.schemathesis_hooks",
        "FUZZ_PROTECTED_KEY_IDS": protect_keys,
        "COLUMNS": "120",
    }
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_SECONDS,
        cwd=workdir,  # its crash cache (.schemathesis/) stays out of the checkout
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis found failures:\n{output}"
    print(_summary(output))
    return output


def _summary(output: str) -> str:
    """The closing lines of the run (operations, test cases, duration), for the test log."""
    lines = output.strip().splitlines()
    start = next(
        (i for i, line in enumerate(lines) if re.search(r"SUMMARY", line)), max(len(lines) - 15, 0)
    )
    return "\n".join(lines[start:])


def test_fuzz_with_a_pro_key_finds_no_server_error(server, pro_customer, tmp_path):
    customer, raw = pro_customer
    key_ids = ",".join(str(pk) for pk in customer.api_keys.values_list("pk", flat=True))
    schemathesis_run(server, tmp_path, "--header", f"X-API-Key: {raw}", protect_keys=key_ids)


def test_fuzz_without_a_key_finds_no_server_error(server, stripe_server, tmp_path):
    schemathesis_run(server, tmp_path)
