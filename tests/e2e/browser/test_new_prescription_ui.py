"""Browser test of writing a new prescription as a prescriber expects: the article search pages like
every table, "Beräkna antal" shows the quantities before the row is added (seed 000), and "✎ Ändra"
brings the row back as it was."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from app.demo.stack import Stack
from tests.e2e.browser.conftest import OUTPUT, assert_accessible, log_in, shoot


def test_search_pages_quantities_show_before_adding_and_edit_keeps_the_row(stack: Stack, new_page) -> None:  # noqa: ANN001
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    page.get_by_role("navigation", name="Flikar").get_by_role("link", name="Patient").click()
    page.get_by_role("button", name="Sök", exact=True).click()
    page.locator("#patienter tbody tr").nth(7).get_by_role("link").click()
    page.get_by_role("link", name="Ny förskrivning").click()
    page.get_by_label("Inkontinens").check()
    page.locator("#typ").get_by_role("button", name="Välj").click()
    page.get_by_label("Artikelnummer eller del av benämning").fill("slip")
    page.get_by_role("button", name="Sök artikel").click()

    caption = page.locator("#artiklar caption")
    total = int(re.search(r"\((\d+)\)", caption.inner_text()).group(1))
    assert total > 20  # every match counted, not the first page's
    expect(page.locator("#artiklar .pager-info")).to_have_text(f"Visar 1–10 av {total}")
    page.locator("#artiklar").get_by_role("link", name="Nästa ›").click()
    expect(page.locator("#artiklar .pager-info")).to_have_text(f"Visar 11–20 av {total}")
    shoot(page, "new-prescription-search-pages")

    page.locator("#artiklar tbody tr").first.get_by_role("link", name="Välj").click()
    assert_accessible(page)
    page.get_by_label("Antal st per dag", exact=True).first.check()
    page.get_by_role("textbox", name="Antal st per dag").fill("3")
    page.get_by_label("Antal uttag").select_option("6")
    expect(page.locator("#berakning")).to_contain_text("Förpackningar per uttag")  # as she types
    expect(page.locator("#berakning")).to_contain_text("60 dagar")
    page.screenshot(path=OUTPUT / "new-prescription-calculated.png", full_page=True)
    expect(page.locator("#rader tbody tr")).to_have_text(["Inga rader ännu."])  # nothing added yet

    page.get_by_role("button", name="Beräkna antal").click()  # the same without JavaScript: a round trip
    expect(page.locator("#berakning")).to_contain_text("60 dagar")
    page.get_by_label("Rekommendation (skrivs ut på kvittot)").fill("Byts morgon, middag och kväll.")
    page.get_by_role("button", name="Lägg till rad").click()
    draft = page.locator("#rader tbody tr")
    expect(draft).to_have_count(1)

    draft.first.get_by_role("link", name=re.compile("Ändra")).click()
    expect(page.get_by_role("textbox", name="Antal st per dag")).to_have_value("3")
    expect(page.get_by_label("Antal uttag")).to_have_value("6")
    expect(page.get_by_label("Rekommendation (skrivs ut på kvittot)")).to_have_value("Byts morgon, middag och kväll.")
    page.screenshot(path=OUTPUT / "new-prescription-edit-keeps-the-row.png", full_page=True)
