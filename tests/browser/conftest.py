"""Browser tests: Debian's chromium driven by Playwright against the real processes of app.demo.stack.

The web app (gunicorn), the monitor and the reference main server run as processes on
127.0.0.1, in a folder of their own, on SQLite — or, when TEST_DATABASE_URL is set, on a
PostgreSQL schema of their own. A failing test leaves a screenshot of each open page under
test-output/browser/.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from app.config import normalise_database_url
from app.demo.stack import ROOT, Stack
from tests.conftest import _postgres_schema

CHROMIUM = "/usr/bin/chromium"
OUTPUT = ROOT / "test-output" / "browser"
PASSWORD = "demo"  # the demo accounts' password (flask seed-demo)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201, ARG001
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", "--disable-quic"],
    )
    yield chromium
    chromium.close()


def _start_stack(directory: Path, name: str) -> Iterator[Stack]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        with _postgres_schema(normalise_database_url(url), f"_{name}") as scoped:
            yield from _run(Stack(directory, database_url=scoped))
    else:
        yield from _run(Stack(directory))


def _run(stack: Stack) -> Iterator[Stack]:
    try:
        stack.start()
    except Exception:
        stack.stop()
        print(stack.logs())
        raise
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running installation shared by the smaller browser tests (the main server stays up)."""
    yield from _start_stack(tmp_path_factory.mktemp("browser-stack"), "browser")


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator:
    """Return a function opening a page in a fresh browser context (one per user); screenshots on failure."""
    contexts: list[BrowserContext] = []

    def open_page(base_url: str) -> Page:
        context = browser.new_context(base_url=base_url, locale="sv-SE", timezone_id="Europe/Stockholm",
                                      accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    if request.node.stash.get(_FAILED, False):
        OUTPUT.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for number, context in enumerate(contexts):
            for index, page in enumerate(context.pages):
                page.screenshot(path=OUTPUT / f"{name}-{number}-{index}.png", full_page=True)
    for context in contexts:
        context.close()


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def assert_accessible(page: Page) -> None:
    """The basics: the page says it is Swedish, and every form field has a label."""
    assert page.locator("html").get_attribute("lang") == "sv"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(f => !['hidden', 'submit', 'button', 'reset', 'image'].includes(f.type))
        .filter(f => !(f.labels && f.labels.length) && !f.getAttribute('aria-label')
                     && !f.getAttribute('aria-labelledby'))
        .map(f => f.name || f.id || f.outerHTML.slice(0, 80))""")
    assert unlabelled == [], f"fields without a label on {page.url}: {unlabelled}"
