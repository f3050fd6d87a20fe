"""Headless Chromium for tests: Debian's /usr/bin/chromium driven by playwright (never playwright's
own browser download). A Session records what a page did: console errors, uncaught exceptions,
every request URL and every dialog (alert/confirm/prompt), so tests can assert none happened."""
from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from typing import Iterator

import pytest

from scripts.core.workspace import Workspace
from tests.conftest import build_demo

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)

# every browser test: the marker (deselect with -m "not browser") and a clear skip without chromium
browser_test = pytest.mark.browser
needs_chromium = pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"no chromium at {CHROMIUM} "
                                    "(apt-get install -y chromium; .ci/run installs it)")


@dataclass
class Session:
    page: object
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextlib.contextmanager
def chromium() -> Iterator:
    """One headless browser for a group of pages."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def session(browser, width: int = 1280, height: int = 900) -> Iterator[Session]:
    """A fresh page whose console errors, page errors, requests and dialogs are recorded.
    Dialogs are dismissed, so a script that calls alert() is seen but never blocks the test."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    recorded = Session(page)
    page.on("console", lambda msg: recorded.errors.append(f"console: {msg.text}") if msg.type == "error" else
            recorded.warnings.append(msg.text) if msg.type == "warning" else None)
    page.on("pageerror", lambda exc: recorded.errors.append(f"pageerror: {exc}"))
    page.on("request", lambda request: recorded.requests.append(request.url))

    def on_dialog(dialog):
        recorded.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield recorded
    finally:
        context.close()


# --- the workspace the output tests share ------------------------------------------------------

OUTPUT_CHAIN = ("load", "backfill", "analyze", "recommend")


def outputs_world(tmp_path_factory):
    """Two demo accounts, 60 days, through the real chain (findings and pending proposals), built
    once per test session and shared by test_report, test_datasette and test_dashboard; they only
    read it (a test that changes data works on a copy)."""
    root = tmp_path_factory.getbasetemp() / "outputs_world"
    done = root / ".built"
    if not done.exists():
        if root.exists():
            shutil.rmtree(root)
        build_demo(root, days=60, accounts=2, steps=OUTPUT_CHAIN)
        done.touch()
    return Workspace(root)
