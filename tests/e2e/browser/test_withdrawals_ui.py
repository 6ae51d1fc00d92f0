"""Browser test: a withdrawal (uttag) is created from a row, aborted, created again and sent from My page.

It prescribes to a patient of its own first, so the demo's withdrawals stay as they are.
"""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from app.demo.stack import Stack
from tests.e2e.browser.conftest import assert_accessible, log_in, prescribe, shoot


def create_withdrawal(page: Page, prescription: str) -> str:
    """From the patient overview, create a withdrawal of two packages from the prescription's row; return its U-number."""
    row_id = page.locator("#aktiva-rader tbody tr", has_text=prescription).get_by_role("checkbox").get_attribute("value")
    page.get_by_label("Skapa uttag från aktiv rad").select_option(row_id)
    page.locator("#uttag").get_by_role("button", name="Skapa uttag").click()
    assert_accessible(page)
    page.get_by_label("Antal förpackningar").fill("2")
    page.get_by_role("button", name="Skapa uttag").click()
    flash = page.locator(".flash", has_text="Uttaget är skapat")
    expect(flash).to_have_text(re.compile(r"uttagsnummer U\d{9}\.$"))
    return flash.inner_text().rstrip(".").split()[-1]


def history_status(page: Page, u_number: str):  # noqa: ANN201
    return page.locator("#uttagshistorik tbody tr", has_text=u_number).locator("td").nth(3)


def withdrawals_left(page: Page, prescription: str):  # noqa: ANN201
    return page.locator("#aktiva-rader tbody tr", has_text=prescription).locator("td").nth(4)


def test_withdrawal_is_aborted_and_another_sent_from_my_page(stack: Stack, new_page) -> None:  # noqa: ANN001
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    prescription = prescribe(page, patient=7)
    expect(withdrawals_left(page, prescription)).to_have_text("4 av 4")

    aborted = create_withdrawal(page, prescription)
    expect(history_status(page, aborted)).to_have_text("Ny")
    expect(withdrawals_left(page, prescription)).to_have_text("3 av 4")
    page.get_by_role("link", name=f"Redigera uttag {aborted}").click()
    assert_accessible(page)
    page.get_by_role("button", name="Avbryt uttaget").click()
    expect(page.get_by_role("button", name="Ja, avbryt uttaget")).to_be_visible()
    shoot(page, "everyday/2-avbryt-uttag-asks-first-after")
    page.get_by_role("button", name="Ja, avbryt uttaget").click()  # asked first: it cannot be undone
    expect(page.locator(".flash")).to_have_text(f"Uttag {aborted} är avbrutet.")
    expect(history_status(page, aborted)).to_have_text("Avbruten")  # back on the overview it came from
    expect(withdrawals_left(page, prescription)).to_have_text("4 av 4")  # the row got its withdrawal back

    sent = create_withdrawal(page, prescription)
    page.get_by_role("navigation", name="Flikar").get_by_role("link", name="Min sida").click()
    assert_accessible(page)
    needing_action = page.locator("#uttag-ny")  # Uttag som måste åtgärdas
    expect(needing_action.locator("tbody tr", has_text=aborted)).to_have_count(0)
    needing_action.get_by_role("link", name=f"Redigera uttag {sent}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Uttag {sent} Ny")
    page.get_by_role("button", name="Skicka").click()
    expect(page.locator(".flash")).to_have_text(f"Uttag {sent} är skickat.")
    expect(page).to_have_url(re.compile(r"/min-sida/"))  # back where the user came from
    expect(needing_action.locator("tbody tr", has_text=sent)).to_have_count(0)

    page.goto(f"/uttag/{sent}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Uttag {sent} Skickad")
    expect(page.get_by_role("button", name="Skicka")).to_have_count(0)
