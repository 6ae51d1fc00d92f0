"""Browser tests: cancelling (Makulera) a prescription row, and copy/correct.

Each test prescribes to a patient of its own first, so it never touches another test's rows.
"""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from app.demo.stack import Stack
from tests.e2e.browser.conftest import assert_accessible, log_in, prescribe, shoot


def closed_row(page: Page, number: str):  # noqa: ANN201
    """Open the closed rows' section and return the row of that prescription."""
    page.locator("#avslutade > summary").click()
    return page.locator("#avslutade-rader tbody tr", has_text=number)


def test_cancelled_row_moves_to_closed_rows_as_makulerad(stack: Stack, new_page) -> None:  # noqa: ANN001
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    number = prescribe(page, patient=5)
    assert_accessible(page)
    active = page.locator("#aktiva-rader tbody tr", has_text=number)
    expect(active.locator("td").nth(8)).to_have_text("Aktiv")

    active.get_by_role("button", name=f"Makulera rad {number}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Makulera raden för .+\?$"))
    shoot(page, "everyday/2-makulera-asks-first-after")
    page.get_by_role("button", name="Ja, makulera").click()  # nothing is cancelled before this
    expect(page.locator(".flash")).to_contain_text("är makulerad")
    expect(page.locator("#aktiva-rader tbody tr", has_text=number)).to_have_count(0)
    expect(closed_row(page, number).locator("td").nth(8)).to_have_text("Makulerad")
    expect(closed_row(page, number).get_by_role("button", name=re.compile("Makulera"))).to_have_count(0)


def test_copy_and_correct_replaces_the_row_and_cancels_the_original(stack: Stack, new_page) -> None:  # noqa: ANN001
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    original = prescribe(page, patient=6, packages="2")

    page.get_by_role("checkbox", name=re.compile(rf"^Välj rad {original} ")).check()
    page.get_by_role("button", name="Kopiera/korrigera markerade rader").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ny förskrivning")
    draft = page.locator("#rader tbody tr")
    expect(draft).to_have_count(1)
    expect(draft.first).to_contain_text("(kopia)")
    expect(draft.first.locator("td").nth(1)).to_have_text("2")

    draft.first.get_by_role("link", name=re.compile("Ändra")).click()  # correct the copy before saving
    assert_accessible(page)
    page.get_by_role("spinbutton", name="Förpackningar per uttag").fill("3")
    page.get_by_role("button", name="Lägg till rad").click()
    expect(draft).to_have_count(1)
    expect(draft.first.locator("td").nth(1)).to_have_text("3")
    expect(draft.first).to_contain_text("(kopia)")
    page.get_by_role("button", name="Spara förskrivning").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Förskrivning \d{9}$"))
    copy = heading.inner_text().split()[-1]
    assert copy != original

    page.locator("main dl.facts").get_by_role("link").click()  # back to the patient
    replacement = page.locator("#aktiva-rader tbody tr", has_text=copy)
    expect(replacement.locator("td").nth(3)).to_have_text("3")
    expect(page.locator("#aktiva-rader tbody tr", has_text=original)).to_have_count(0)
    expect(closed_row(page, original).locator("td").nth(8)).to_have_text("Makulerad")
