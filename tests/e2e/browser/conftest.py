"""Browser tests: Debian's chromium driven by Playwright against the real processes of app.demo.stack.

The web app (bin/web, as `make run` starts it), the monitor and the reference main server run as processes on
127.0.0.1, in a folder of their own, on SQLite — or, when TEST_DATABASE_URL is set, on a
PostgreSQL schema of their own. A failing test leaves a screenshot of each open page under
test-output/browser/.
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, expect, sync_playwright

from core.config import normalise_database_url
from app.demo.stack import ROOT, Stack, wait_until
from tests.conftest import postgres_schema
from tests.smtp_server import Inbox

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


def _start_stack(directory: Path, name: str, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    url = os.environ.get("TEST_DATABASE_URL")
    extra_env = dict(extra_env or {})
    if url:
        with postgres_schema(normalise_database_url(url), f"_{name}") as scoped:
            yield from _run(Stack(directory, database_url=scoped, extra_env=extra_env))
    else:
        yield from _run(Stack(directory, extra_env=extra_env))


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
def stack(tmp_path_factory: pytest.TempPathFactory, mail_server: Controller) -> Iterator[Stack]:
    """One running installation shared by the smaller browser tests (the main server stays up).

    Its mail goes to `mail_server`, a real SMTP server on loopback (see the `inbox` fixture).
    """
    mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_server.port)}
    yield from _start_stack(tmp_path_factory.mktemp("browser-stack"), "browser", mail)


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


def shoot(page: Page, name: str) -> None:
    """Keep a full-page screenshot of what the person sees under test-output/browser/ (`name` may hold a folder)."""
    path = OUTPUT / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def assert_accessible(page: Page) -> None:
    """The basics: the page says it is Swedish, and every form field has a label."""
    assert page.locator("html").get_attribute("lang") == "sv"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(f => !['hidden', 'submit', 'button', 'reset', 'image'].includes(f.type))
        .filter(f => !(f.labels && f.labels.length) && !f.getAttribute('aria-label')
                     && !f.getAttribute('aria-labelledby'))
        .map(f => f.name || f.id || f.outerHTML.slice(0, 80))""")
    assert unlabelled == [], f"fields without a label on {page.url}: {unlabelled}"


# --- Shared by the smaller browser tests: mail (tests/e2e/conftest.py), CSRF tokens, a prescription of one's own


def wait_for_mail(inbox: Inbox, address: str, subject: str = "", timeout: float = 15) -> EmailMessage:
    """Return the first mail to `address` whose subject contains `subject`, waiting for it to arrive."""
    def arrived() -> EmailMessage | None:
        return next((m for m in inbox.to(address) if subject in str(m["Subject"])), None)

    return wait_until(arrived, timeout, f"a mail to {address} about {subject!r}")


def link_in(message: EmailMessage, path: str) -> str:
    """Return the link in a plain-text mail whose path starts with `path`, as a path on the site."""
    body = message.get_content()
    match = re.search(rf"https?://[^/\s]+({re.escape(path)}\S*)", body)
    assert match, f"no link to {path} in:\n{body}"
    return match.group(1)


def unique(text: str) -> str:
    """Return the text with a random suffix, so what one test writes is never mistaken for another's."""
    return f"{text}{uuid.uuid4().hex[:8]}"


def column(table: Locator, index: int) -> list[str]:
    """Return the texts of one column of a table's body, top to bottom."""
    return table.locator("tbody tr").evaluate_all(f"rows => rows.map(r => r.cells[{index}].innerText.trim())")


def csrf_token(page: Page) -> str:
    """Return the page's CSRF token (the logout form carries one on every page)."""
    return page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def apply_for_access(page: Page, name: str, email: str, manager_email: str) -> str:
    """Send the public application for a new prescriber account from the login page; return its reference."""
    page.goto("/login")
    page.get_by_role("link", name="Ansök om behörighet").click()
    page.get_by_role("link", name="Ansök om ny behörighet").click()
    assert_accessible(page)
    page.get_by_label("Namn (förnamn och efternamn) *").fill(name)
    page.get_by_label("E-post *", exact=True).fill(email)
    page.get_by_label("Telefon *", exact=True).fill("040-123 45 67")
    page.get_by_label("Arbetsplats *").fill("Vårdcentralen Sjöbo")
    page.get_by_label("Roll *").select_option(label="Förskrivare")
    page.get_by_label("Stomi").check()
    page.get_by_label("Kundnummer (förskrivande enheter)").fill("410251")
    page.get_by_label("Ansvarig chefs namn *").fill("Per Chefsson")
    page.get_by_label("Ansvarig chefs e-post *").fill(manager_email)
    page.get_by_role("button", name="Skicka ansökan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ansökan är mottagen")
    return page.locator("main strong").first.inner_text()


PRESCRIBED_ARTICLE = "Deodorant för stomipåse"  # stoma: the demo prescriber has one unit for it, preselected


def prescribe(page: Page, patient: int, packages: str = "2") -> str:
    """As the logged-in prescriber, prescribe a stoma article to the n-th of her patients (0-based, first page)
    through the UI; return the prescription number, with the patient's overview open."""
    page.get_by_role("navigation", name="Flikar").get_by_role("link", name="Patient").click()
    page.get_by_role("button", name="Sök", exact=True).click()
    page.locator("#patienter tbody tr").nth(patient).get_by_role("link").click()
    page.get_by_role("link", name="Ny förskrivning").click()
    page.get_by_label("Stomi").check()
    page.locator("#typ").get_by_role("button", name="Välj").click()
    page.get_by_label("Artikelnummer eller del av benämning").fill(PRESCRIBED_ARTICLE)
    page.get_by_role("button", name="Sök artikel").click()
    page.locator("#artikel table tbody tr").first.get_by_role("link", name="Välj").click()
    assert_accessible(page)
    page.get_by_role("spinbutton", name="Förpackningar per uttag").fill(packages)
    page.get_by_role("button", name="Lägg till rad").click()
    page.get_by_role("button", name="Spara förskrivning").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Förskrivning \d{9}$"))
    number = heading.inner_text().split()[-1]
    page.locator("main dl.facts").get_by_role("link").click()  # the patient
    expect(page.locator("#aktiva-rader tbody tr", has_text=number)).to_have_count(1)
    return number
