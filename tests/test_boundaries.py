"""The edges import-linter cannot see (pyproject.toml checks the imports): templates, URL names and
hand-written links follow the same layers, and what lives once lives in core.

Layers, lowest first: core < accounts < metering < pricing < billing | alerts < console | portal
< petstore. An app renders only its own templates (templates/<app>/ or templates/admin/<app>/;
project-level ones such as base.html have no folder), includes or extends only its own, a lower
app's or project-level templates, and names only its own or a lower app's URLs; a link to a higher
app's page goes through core.navigation (a role the owning app registers).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
LEVELS = {
    "core": 0,
    "accounts": 1,
    "metering": 2,
    "pricing": 3,
    "billing": 4,
    "alerts": 4,
    "console": 5,
    "portal": 5,
    "petstore": 6,
}
APPS = [app for app in LEVELS if app != "petstore"]
# Project-level templates: the layouts and partials every app's pages use.
PROJECT_FOLDERS = {"partials", "docs", "admin"}


def may_use(user: str, owner: str) -> bool:
    """An app may use what it owns or what a strictly lower layer owns."""
    return owner == user or LEVELS[owner] < LEVELS[user]


def python_files(app: str) -> list[Path]:
    return [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


def string_literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant, and the leading constant part of every f-string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and isinstance(head.value, str):
                found.append((node.lineno, head.value))
    return found


def template_owner(name: str) -> str | None:
    """The app a template path belongs to (None: project-level)."""
    parts = name.split("/")
    if parts[0] == "admin" and len(parts) > 2 and parts[1] in LEVELS:
        return parts[1]
    if len(parts) > 1 and parts[0] in LEVELS:
        return parts[0]
    return None


TEMPLATE_NAME = re.compile(r"^[a-z_]+/[\w./-]*$")


def test_apps_render_only_their_own_templates():
    wrong = []
    for app in APPS:
        for path in python_files(app):
            for line, text in string_literals(path):
                if not TEMPLATE_NAME.match(text) or not (TEMPLATES / text.split("/")[0]).is_dir():
                    continue
                owner = template_owner(text)
                if owner is not None and owner != app:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} renders {text}")
    assert wrong == []


TAG = re.compile(r"{%\s*(include|extends)\s+[\"']([^\"']+)[\"']")


def test_templates_include_only_their_own_lower_or_project_templates():
    wrong = []
    for app in LEVELS:
        folder = TEMPLATES / app
        for path in folder.rglob("*") if folder.is_dir() else []:
            if path.is_dir():
                continue
            for _, name in TAG.findall(path.read_text()):
                owner = template_owner(name)
                if owner is not None and not may_use(app, owner):
                    wrong.append(f"{path.relative_to(ROOT)} uses {name}")
    assert wrong == []


def url_owners() -> dict[str, str]:
    """URL name → the top-level package of its view (ours or a library's)."""
    owners: dict[str, str] = {}

    def walk(patterns, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                module = getattr(pattern.callback, "__module__", "") or ""
                owners.setdefault(f"{namespace}{pattern.name}", module.split(".")[0])

    walk(get_resolver().url_patterns, "")
    return owners


URL_TAG = re.compile(r"{%\s*url\s+[\"']([^\"']+)[\"']")
URL_CALL = re.compile(r"\b(?:reverse|reverse_lazy|redirect)\(\s*[\"']([^\"'/]+)[\"']")


def test_apps_name_only_their_own_or_lower_apps_urls():
    owners = url_owners()
    assert owners["pricing"] == "pricing" and owners["dashboard"] == "portal"
    uses: list[tuple[str, str, str]] = []
    for app in LEVELS:
        folder = TEMPLATES / app
        for path in folder.rglob("*.html") if folder.is_dir() else []:
            uses += [
                (app, str(path.relative_to(ROOT)), n) for n in URL_TAG.findall(path.read_text())
            ]
    for app in APPS:
        for path in python_files(app):
            text = path.read_text()
            uses += [(app, str(path.relative_to(ROOT)), n) for n in URL_CALL.findall(text)]
    wrong = []
    for app, where, name in uses:
        owner = owners.get(name)
        assert owner is not None, f"{where}: no URL named {name!r}"
        if owner in LEVELS and not may_use(app, owner):
            wrong.append(f"{where} names {name} ({owner})")
    assert wrong == []


def test_no_app_writes_a_site_path_by_hand():
    """Absolute links come from core.navigation (upgrade_url, page_url), never f"{SITE_URL}/…"."""
    wrong = []
    for app in APPS:
        for path in python_files(app):
            if path == ROOT / "core" / "navigation.py":
                continue
            for line, text in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"SITE_URL\}/\w", text):
                    wrong.append(f"{path.relative_to(ROOT)}:{line}")
    assert wrong == []


@pytest.mark.parametrize(
    ("pattern", "home", "what"),
    [
        (r"\bStyle\(", "core/charts.py", "a pygal chart style"),
        (r"relativedelta|month % 12|month - 1\b", "core/periods.py", "month arithmetic"),
        (r"\bsend_mail\(|EmailMultiAlternatives\(", "core/email.py", "sending email"),
        (r":,\.2f\}|\$\{", "core/money.py", "a money format"),
    ],
)
def test_what_lives_once_lives_in_core(pattern, home, what):
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for app in [*APPS, "petstore"]
        for path in python_files(app)
        for line, text in enumerate(path.read_text().splitlines(), 1)
        if re.search(pattern, text)
    ]
    assert {spot.rsplit(":", 1)[0] for spot in found} <= {home}, f"{what} outside {home}: {found}"
