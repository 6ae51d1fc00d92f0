"""Browser tests: the product advanced search, a message to My page, and an access application."""
from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from app.demo.stack import Stack
from tests.e2e.browser.conftest import (
    apply_for_access, assert_accessible, column, link_in, log_in, unique, wait_for_mail,
)
from tests.smtp_server import Inbox

PRESCRIBER_EMAIL = "anna.lindstrom@skane.example"  # the demo prescriber (app.demo.reference)
SUPPLIER = "Dansk Ostomi ApS"  # a stoma supplier of the demo catalogue


def kronor(text: str) -> Decimal:
    """Read an amount written the Swedish way, "2 580,50 kr" (non-breaking spaces)."""
    assert text.endswith("\u00a0kr"), text
    return Decimal(text.removesuffix("\u00a0kr").replace("\u00a0", "").replace(",", "."))


def test_product_advanced_search_filters_and_sorts_by_price(stack: Stack, new_page) -> None:  # noqa: ANN001
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    page.get_by_role("navigation", name="Flikar").get_by_role("link", name="Produkt").click()
    page.get_by_text("Avancerad sökning").click()
    assert_accessible(page)
    page.get_by_label("Produktområde").select_option(label="Stomi")
    page.get_by_label("Leverantör", exact=True).select_option(SUPPLIER)
    page.get_by_role("button", name="Sök", exact=True).click()

    table = page.locator("#artiklar")
    expect(table.locator("caption")).to_have_text(re.compile(r"^Artiklar \(\d+\)$"))
    expect(page.get_by_label("Leverantör", exact=True)).to_have_value(SUPPLIER)  # the search is kept
    suppliers = column(table, 4)
    assert suppliers and set(suppliers) == {SUPPLIER}

    by_price = table.get_by_role("columnheader", name="Pris/förp.")
    by_price.get_by_role("link").click()
    expect(by_price).to_have_attribute("aria-sort", "ascending")
    prices = [kronor(text) for text in column(table, 3)]
    assert len(prices) == 10 and prices == sorted(prices)
    by_price.get_by_role("link").click()
    expect(by_price).to_have_attribute("aria-sort", "descending")
    highest = [kronor(text) for text in column(table, 3)]
    assert highest == sorted(highest, reverse=True) and highest[0] >= prices[-1]
    expect(page.get_by_label("Produktområde")).to_have_value("stomi")  # sorting keeps the filters


def test_message_reaches_the_prescribers_my_page_and_mail_only_says_there_is_one(
        stack: Stack, new_page, inbox: Inbox) -> None:  # noqa: ANN001
    subject = unique("Nytt sortiment ")
    body = "Från 1 mars byts deodoranterna för stomipåsar ut. Se bifogad lista."
    sender = new_page(stack.web_url)
    log_in(sender, "customer_service")
    sender.get_by_role("navigation", name="Flikar").get_by_role("link", name="Min sida").click()
    sender.get_by_role("link", name="Skriv nytt meddelande").click()
    assert_accessible(sender)
    sender.get_by_label("En användare").check()
    sender.get_by_label("Användare", exact=True).select_option(label="Anna Lindström (prescriber)")
    sender.get_by_label("Ämne *").fill(subject)
    sender.get_by_label("Meddelande *").fill(body)
    sender.get_by_label("Bilagor").set_input_files(
        {"name": "ersattningsartiklar.txt", "mimeType": "text/plain", "buffer": "689102 ersätts av 378465\n".encode()})
    sender.get_by_role("button", name="Skicka meddelande").click()
    expect(sender.locator(".flash")).to_have_text("Meddelandet är skickat till 1 mottagare.")
    assert_accessible(sender)
    expect(sender.locator("#skickade tbody tr", has_text=subject).locator("td").nth(3)).to_have_text("0 av 1")

    notice = wait_for_mail(inbox, PRESCRIBER_EMAIL)
    assert subject not in notice.get_content() and "deodoranterna" not in notice.get_content()

    reader = new_page(stack.web_url)
    log_in(reader, "prescriber")
    reader.get_by_role("navigation", name="Flikar").get_by_role("link", name="Min sida").click()
    assert_accessible(reader)
    unread = reader.locator("#inkorg tbody tr", has_text=subject)
    expect(unread.locator("strong")).to_have_text(subject)  # unread: in bold
    unread.get_by_role("link", name=subject).click()
    expect(reader.get_by_role("heading", level=1)).to_have_text(subject)
    expect(reader.locator(".message-body")).to_contain_text("byts deodoranterna")
    with reader.expect_download() as download:
        reader.get_by_role("link", name="ersattningsartiklar.txt").click()
    assert download.value.path().read_text() == "689102 ersätts av 378465\n"

    sender.reload()
    expect(sender.locator("#skickade tbody tr", has_text=subject).locator("td").nth(3)).to_have_text("1 av 1")


def test_access_application_is_approved_and_the_new_user_chooses_a_password(
        stack: Stack, new_page, inbox: Inbox) -> None:  # noqa: ANN001
    applicant_email, manager_email = (unique(name) + "@skane.example" for name in ("eva.", "chef."))
    applicant = new_page(stack.web_url)
    reference = apply_for_access(applicant, "Eva Testberg", applicant_email, manager_email)
    assert reference in str(wait_for_mail(inbox, manager_email, "har tagits emot")["Subject"])

    admin = new_page(stack.web_url)
    log_in(admin, "admin")
    admin.get_by_role("navigation", name="Flikar").get_by_role("link", name="Administration").click()
    admin.get_by_role("link", name="Ansökningar om behörighet").click()
    assert_accessible(admin)
    admin.get_by_role("link", name=reference).click()
    assert_accessible(admin)
    username = admin.get_by_label("Användarnamn för det nya kontot").input_value()
    admin.get_by_role("button", name="Bevilja").click()
    expect(admin.locator(".flash")).to_have_text(f"Ärende {reference} är beviljat.")

    welcome = wait_for_mail(inbox, applicant_email, "är klar")
    assert f"Ditt användarnamn: {username}" in welcome.get_content()
    applicant.goto(link_in(welcome, "/losenord"))  # the mail's link, on this installation
    assert_accessible(applicant)
    applicant.get_by_label("Nytt lösenord *").fill("Sommar2026grona")
    applicant.get_by_label("Upprepa lösenordet *").fill("Sommar2026grona")
    applicant.get_by_role("button", name="Spara lösenord").click()
    expect(applicant.locator(".flash")).to_contain_text("Ditt lösenord är sparat")
    log_in(applicant, username, "Sommar2026grona")
    expect(applicant.locator(".user-name")).to_have_text("Eva Testberg")
