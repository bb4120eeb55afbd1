"""The browser suite: Debian's chromium driven by Playwright (sync API), one browser for the
session, a fresh context (cookies, storage) per test, against pytest-django's live_server.

Playwright's own browser download is not used: chromium comes from the system. Screenshots of
the main pages are written to docs/screenshots/ when PORTAL_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = settings.BASE_DIR / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One browser for the whole browser suite (this package)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    # calls (the tests' own setup) from a thread with a running loop unless told otherwise.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            # launch() gives every run a fresh, temporary user-data dir (removed on close).
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture(autouse=True)
def _fast_portal(settings):
    # The dashboard polls for the first call every few seconds; the browser tests need not wait.
    settings.PORTAL_FIRST_CALL_POLL_MS = 300
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    off_host: list[str] = []  # the portal must work offline: nothing from another host
    allowed = [live_server.url, "data:", "blob:"]
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(tuple(allowed)) else off_host.append(request.url)
        ),
    )
    page.off_host = off_host
    # A test that goes to Stripe's hosted pages (the local Stripe server) allows its address.
    page.allow_host = allowed.append
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors  # a test that expects an error answer removes its own message
    yield page
    context.close()
    assert not off_host, f"requests left the app: {off_host}"
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def screenshot():
    """screenshot(page, name): saved under docs/screenshots/ when PORTAL_SCREENSHOTS=1."""
    enabled = os.environ.get("PORTAL_SCREENSHOTS") == "1"

    def take(page, name: str, *, full_page: bool = True) -> None:
        if enabled:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            # From the top, so the sticky header is where it belongs in a full-page capture.
            page.evaluate("window.scrollTo(0, 0)")
            path = SCREENSHOTS / f"{name}.png"
            page.screenshot(path=str(path), full_page=full_page)
            # A 256-colour palette keeps UI captures sharp at about a third of the size.
            from PIL import Image

            with Image.open(path) as image:
                palette = image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
            palette.save(path, optimize=True)

    return take
