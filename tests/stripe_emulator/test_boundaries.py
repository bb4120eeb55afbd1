"""The emulator stands alone: it imports no app of ours (nor Django), and the wheel leaves it
out."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
OURS = {
    "core",
    "accounts",
    "metering",
    "pricing",
    "billing",
    "alerts",
    "console",
    "portal",
    "petstore",
    "tests",
    "django",
    "djstripe",
}


def test_the_emulator_imports_nothing_of_ours() -> None:
    script = (
        "import json, sys\n"
        "import stripe_emulator.__main__, stripe_emulator.testing\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert "stripe_emulator" in loaded and "werkzeug" in loaded
    assert loaded & OURS == set()


def test_the_wheel_leaves_the_emulator_out() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = config["packages"]["find"]
    packages = find_packages(str(ROOT), include=found["include"], exclude=found["exclude"])
    assert "billing" in packages
    assert not [p for p in packages if p.startswith(("stripe_emulator", "tests"))]
