"""Schemathesis fuzzes the live OpenAPI schema (`/api/schema/`) of a real gunicorn with every
check it has: no 5xx, every status, content type, body and header as documented, schema-valid
requests accepted, schema-invalid ones refused, authentication not ignored, undeclared methods
answered 405 with `Allow`, created objects retrievable and deleted ones gone.

Three runs: with a Pro customer's key (so the gated image and analytics routes are reachable),
with a Business customer's key on the webhooks operations (the `webhooks` feature), and with no
key at all. Bounded and reproducible: deterministic generation (no randomness, no example
database) and at most `MAX_EXAMPLES` cases per operation and phase. On failure the message is
schemathesis' own report, with a `curl` command reproducing each failing case.

The few exceptions are in `OPERATION_CONFIG`, each with its reason; the hooks (unique
Idempotency-Keys, the fuzzed customer's own key kept) are in tests/faults/schemathesis_hooks.py.
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

CHECKS = ["all"]
PHASES = ["examples", "coverage", "fuzzing", "stateful"]
MAX_EXAMPLES = 25
# Each CLI run is bounded in case generation ever runs away (it takes some 20 s).
RUN_TIMEOUT_SECONDS = 240

# Per-operation exceptions (schemathesis' [[operations]] config), each with the reason no schema
# can remove it. "Positive data acceptance" expects 2xx (or 401/403/404/409/429/5xx) for any
# schema-valid request; these operations also refuse schema-valid requests for reasons that lie
# in the account's state or in the bytes of a file, which OpenAPI cannot express.
POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
OPERATION_CONFIG = {
    # No card on file (400 payment_method_required), a payment method Stripe does not know
    # (400 invalid_payment_method), a contract or non-self-serve plan (400 plan_not_available),
    # a declined card (402 card_declined): all depend on the customer and on Stripe's state.
    "billing_subscribe": [*POSITIVE_DEFAULT, "400", "402"],
    # 400 no_subscription: there is nothing to cancel until the customer has subscribed.
    "billing_cancel": [*POSITIVE_DEFAULT, "400"],
    # A schema-valid file is any bytes; only a real JPEG, PNG, GIF or WebP is an image (400
    # invalid_image, or validation_error for an empty file).
    "pets_image_create": [*POSITIVE_DEFAULT, "400"],
    # A schema-valid URL is any string: whether it is http(s), resolves, and resolves to a public
    # address (400 invalid_webhook_url, the SSRF guard) is a fact about DNS at the time.
    "webhooks_create": [*POSITIVE_DEFAULT, "400"],
}

pytestmark = pytest.mark.django_db(transaction=True)


def config_file(workdir) -> str:
    sections = []
    for operation_id, statuses in OPERATION_CONFIG.items():
        quoted = ", ".join(f'"{status}"' for status in statuses)
        sections.append(
            f'[[operations]]\ninclude-operation-id = "{operation_id}"\n'
            f"checks.positive_data_acceptance.expected-statuses = [{quoted}]\n"
        )
    path = workdir / "schemathesis.toml"
    path.write_text("\n".join(sections))
    return str(path)


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
        "--config-file",
        config_file(workdir),
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


def test_fuzz_with_a_pro_key_finds_nothing(server, pro_customer, tmp_path):
    customer, raw = pro_customer
    key_ids = ",".join(str(pk) for pk in customer.api_keys.values_list("pk", flat=True))
    schemathesis_run(server, tmp_path, "--header", f"X-API-Key: {raw}", protect_keys=key_ids)


def test_fuzz_without_a_key_finds_nothing(server, stripe_server, tmp_path):
    schemathesis_run(server, tmp_path)


def test_fuzz_the_webhooks_with_a_business_key_finds_nothing(
    server, make_customer, stripe_server, tmp_path
):
    """The webhooks operations need the `webhooks` feature (Business): the Pro run only meets
    their 403. The server delivers to loopback (WEBHOOK_ALLOW_PRIVATE_URLS, as in every test)."""
    Plan.objects.filter(slug="business").update(rate_limit_per_minute=1_000_000)
    _, raw = make_customer("business", "fuzz-hooks@example.com")
    schemathesis_run(
        server,
        tmp_path,
        "--header",
        f"X-API-Key: {raw}",
        "--include-path-regex",
        "^/api/v1/webhooks",
    )
