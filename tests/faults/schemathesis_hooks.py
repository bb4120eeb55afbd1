"""Schemathesis hooks for tests/faults/test_schema_fuzz.py (loaded by the CLI through
SCHEMATHESIS_HOOKS, in its own process).

- The fuzzed customer's own key must survive the run: revoking or rotating it would turn every
  later call into a 401 and fuzz nothing past the key operations. Every other key id is fair game.
- A valid Idempotency-Key is made unique per request. In deterministic mode schemathesis draws
  few distinct strings ("0", "00", …), so nearly every write would meet a key already used with
  another body and answer 409 `idempotency_key_reused`: correct, and it would fuzz nothing past
  the idempotency layer. Keys the schema calls invalid (empty, too long, spaces) are sent as drawn,
  so the header's own refusals are still fuzzed; replays and conflicts have tests of their own
  (tests/metering/test_idempotency.py).
"""

from __future__ import annotations

import itertools
import os
import re

import schemathesis

PROTECTED_KEY_IDS = {
    value.strip() for value in os.environ.get("FUZZ_PROTECTED_KEY_IDS", "").split(",") if value
}
VALID_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")
_keys = itertools.count(1)


@schemathesis.hook("filter_path_parameters").apply_to(path_regex=r"^/api/v1/keys/\{pk\}")
def filter_path_parameters(context, path_parameters):
    return str((path_parameters or {}).get("pk")) not in PROTECTED_KEY_IDS


@schemathesis.hook
def map_headers(context, headers):
    if headers:
        for name, value in headers.items():
            valid = isinstance(value, str) and VALID_IDEMPOTENCY_KEY.fullmatch(value)
            if name.lower() == "idempotency-key" and valid:
                headers[name] = f"fuzz-{os.getpid()}-{next(_keys)}"
    return headers
