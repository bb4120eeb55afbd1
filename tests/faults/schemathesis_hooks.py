"""Schemathesis hooks for tests/faults/test_schema_fuzz.py (loaded by the CLI through
SCHEMATHESIS_HOOKS, in its own process).

The fuzzed customer's own key must survive the run: revoking or rotating it would turn every
later call into a 401 and fuzz nothing past the key operations. Every other key id is fair game.
"""

from __future__ import annotations

import os

import schemathesis

PROTECTED_KEY_IDS = {
    value.strip() for value in os.environ.get("FUZZ_PROTECTED_KEY_IDS", "").split(",") if value
}


@schemathesis.hook("filter_path_parameters").apply_to(path_regex=r"^/api/v1/keys/\{pk\}")
def filter_path_parameters(context, path_parameters):
    return str((path_parameters or {}).get("pk")) not in PROTECTED_KEY_IDS
