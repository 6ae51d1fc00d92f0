"""SITHS login in Chromium: the login page, the demo provider's pick-a-person page, and back logged in.

Its own installation (app.demo.stack with the demo SITHS provider as a fourth process).
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.demo.stack import Stack
from core.config import normalise_database_url
from tests.conftest import postgres_schema
from tests.e2e.browser.conftest import _run, assert_accessible

ANNA = "Anna Lindström, Förskrivare (SE2321000255-F7K2)"
NO_ACCOUNT = "Nils Okänd, Inget konto (SE2321000255-N0K0)"


@pytest.fixture(scope="module")
def siths_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("siths-stack")
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        with postgres_schema(normalise_database_url(url), "_siths") as scoped:
            yield from _run(Stack(directory, patients=20, database_url=scoped, siths=True))
    else:
        yield from _run(Stack(directory, patients=20, siths=True))


def _pick(page: Page, person: str) -> None:
    page.goto("/login")
    assert_accessible(page)
    page.get_by_role("link", name="Logga in med SITHS").click()
    page.get_by_role("button", name=person).click()


def test_a_newcomer_logs_in_with_siths_by_picking_a_person_and_logs_out_at_the_provider(siths_stack, new_page):
    page = new_page(siths_stack.web_url)
    _pick(page, ANNA)
    page.wait_for_url(f"{siths_stack.web_url}/")
    expect(page.get_by_text("Anna Lindström").first).to_be_visible()
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"{siths_stack.idp_url}/oauth2/end_session**")  # the provider's session ends too
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{siths_stack.web_url}/login**")
    expect(page.get_by_text("Du är utloggad.")).to_be_visible()
    page.goto("/")
    assert "/login" in page.url  # the local session is gone


def test_an_unknown_hsa_id_gets_a_swedish_page_with_the_access_application(siths_stack, new_page):
    page = new_page(siths_stack.web_url)
    _pick(page, NO_ACCOUNT)
    expect(page.get_by_role("heading", name="Du har inget konto i Förskrivningsportalen")).to_be_visible()
    page.get_by_role("link", name="Ansök om behörighet").click()
    assert page.url.endswith("/behorighet")
    page.goto("/")
    assert "/login" in page.url
