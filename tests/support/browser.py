"""Debian's Chromium driven by Playwright (no browser download), with the page's console
errors collected so a test can fail on them, and screenshots kept as test artifacts."""

import contextlib
import os
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Browser:
    def __init__(self, page, errors: list[str]):
        self.page = page
        self.errors = errors

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextlib.contextmanager
def chromium(locale: str = "fr-FR"):
    # Playwright's sync API runs an event loop in this thread; Django's ORM, used by the
    # test between browser actions, refuses that unless told it is fine.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on(
                "console",
                lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
            )
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            yield Browser(page, errors)
        finally:
            browser.close()
