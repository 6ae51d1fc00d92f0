"""Browser tests of issue #17's everyday-work points that no other browser test covers.

Each keeps an "after" screenshot under test-output/browser/everyday/, named by the issue's point,
to set beside the "before" one taken on the commit before the work (see the issue's note).
"""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from app.demo.stack import Stack, wait_until
from tests.e2e.browser.conftest import (
    apply_for_access,
    assert_accessible,
    log_in,
    shoot,
    unique,
    wait_for_mail,
)
from tests.smtp_server import Inbox

EMOJI_ICONS = ("✎", "👁", "✕", "🌿")  # what the icons were before they became inline SVG
OLD_MAIN_WIDTH = 1200  # px: the narrow column pages had on a 1366 px screen


def after(page: Page, name: str) -> None:
    shoot(page, f"everyday/{name}-after")


def tab(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Flikar").get_by_role("link", name=name).click()


def open_first_patient(page: Page) -> None:
    """As the prescriber, open the overview of the first of her own patients."""
    tab(page, "Patient")
    page.get_by_role("button", name="Sök", exact=True).click()
    page.locator("#patienter tbody tr").first.get_by_role("link").click()


def show_choices(page: Page, select: str) -> None:
    """Draw a drop-down as an open list, so a screenshot shows its choices (a closed one shows one)."""
    page.locator(select).evaluate("s => { s.size = s.options.length; }")


# --- Point 2 (reject asks first) and point 10 (a second application is flagged) ----------------------


def test_a_second_application_is_flagged_and_rejecting_it_asks_first(
        stack: Stack, new_page, inbox: Inbox) -> None:
    applicant_email, manager_email = (unique(name) + "@skane.example" for name in ("olle.", "chef."))
    applicant = new_page(stack.web_url)
    first = apply_for_access(applicant, "Olle Dubbelsson", applicant_email, manager_email)
    second = apply_for_access(applicant, "Olle Dubbelsson", applicant_email, manager_email)

    admin = new_page(stack.web_url)
    log_in(admin, "admin")
    tab(admin, "Administration")
    admin.get_by_role("link", name="Ansökningar om behörighet").click()
    admin.get_by_role("link", name=second).click()
    flag = admin.locator(".flash-warning")
    expect(flag).to_contain_text("Samma person har 1 annan ansökan")
    expect(flag.get_by_role("link", name=first)).to_be_visible()
    after(admin, "10-second-application-flagged")

    reason = "Dubblett av en ansökan som redan handläggs."
    admin.get_by_label("Motivering (inga personnummer) *").fill(reason)
    admin.locator("#avsla").get_by_role("button", name="Avslå").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Avslå ärende {second}?")
    expect(admin.locator("main")).to_contain_text(reason)
    assert_accessible(admin)
    after(admin, "2-reject-asks-first")
    show = admin.request.get(admin.get_by_role("link", name="Nej, tillbaka").get_attribute("href"))
    assert "Status: <strong>Inkommen</strong>" in show.text()  # asked, nothing rejected yet

    admin.get_by_role("link", name="Nej, tillbaka").click()  # changing one's mind leaves it as it was
    expect(admin.locator("main")).to_contain_text("Status: Inkommen")
    admin.get_by_label("Motivering (inga personnummer) *").fill(reason)
    admin.locator("#avsla").get_by_role("button", name="Avslå").click()
    admin.get_by_role("button", name="Ja, avslå").click()
    expect(admin.locator(".flash").first).to_have_text(f"Ärende {second} är avslaget.")
    expect(admin.locator("main")).to_contain_text("Status: Avslagen")
    assert reason in wait_for_mail(inbox, applicant_email, "är avslagen").get_content()
    assert sum("avslagen" in str(m["Subject"]) for m in inbox.to(applicant_email)) == 1  # mailed once


# --- Point 7: patient search by article ----------------------------------------------------------------


def test_patient_search_by_article_names_the_article_or_says_it_does_not_exist(stack: Stack, new_page) -> None:
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    open_first_patient(page)
    article = page.locator("#aktiva-rader tbody tr").first.locator("td").nth(2).inner_text()
    number, name = re.match(r"^(\S+) (.+?)(?: !)?$", article.strip()).groups()

    tab(page, "Patient")
    page.get_by_text("Avancerad sökning").click()
    page.get_by_label("Artikelnummer").fill(number)
    page.get_by_role("button", name="Sök", exact=True).click()
    expect(page.locator("#artikel-benamning")).to_have_text(f"Benämning: {number} {name}")
    expect(page.locator("#patienter tbody tr").first.get_by_role("link")).to_be_visible()  # who has it
    assert_accessible(page)
    after(page, "7-patient-search-article-named")

    page.get_by_label("Artikelnummer").fill("99999999")
    page.get_by_role("button", name="Sök", exact=True).click()
    expect(page.locator("#article-error")).to_have_text("Artikel 99999999 finns inte.")
    expect(page.get_by_label("Artikelnummer")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#patienter")).to_have_count(0)
    after(page, "7-patient-search-article-unknown")


# --- Point 8: "Visa bild" ----------------------------------------------------------------------------


def test_visa_bild_shows_the_article_images_in_the_result_list(stack: Stack, new_page) -> None:
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    tab(page, "Produkt")
    page.get_by_label("Artikelnummer eller del av benämning").fill("stomi")
    page.get_by_role("button", name="Sök", exact=True).click()
    table = page.locator("#artiklar")
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(table.get_by_role("columnheader", name="Bild")).to_have_count(0)  # unticked: no images
    expect(table.locator("img")).to_have_count(0)

    page.get_by_label("Visa bild").check()
    page.get_by_role("button", name="Sök", exact=True).click()
    expect(table.get_by_role("columnheader", name="Bild")).to_be_visible()
    images = table.locator("tbody img.article-image")
    expect(images.first).to_be_visible()
    page.wait_for_load_state()
    # Drawn in the list itself, not a link to open: every image loaded and has a text alternative.
    loaded = images.evaluate_all(
        "imgs => imgs.map(i => i.complete && i.naturalWidth > 0 && i.alt.startsWith('Bild på '))")
    assert loaded and all(loaded), loaded
    expect(table.get_by_role("link", name="Visa bild")).to_have_count(0)
    expect(page.get_by_label("Visa bild")).to_be_checked()  # the choice is kept
    after(page, "8-visa-bild-inline")


# --- Point 9: the width of the screen, a favicon, SVG icons ---------------------------------------


def test_pages_use_the_screen_width_have_a_favicon_and_svg_icons_with_text(stack: Stack, new_page) -> None:
    page = new_page(stack.web_url)
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, "prescriber")
    open_first_patient(page)
    page.wait_for_load_state()

    width = page.locator("main").evaluate("m => m.getBoundingClientRect().width")
    assert width > OLD_MAIN_WIDTH + 100, width

    icon = page.request.get(page.locator("link[rel=icon]").get_attribute("href"))
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")

    text = page.locator("main").inner_text()
    assert not [glyph for glyph in EMOJI_ICONS if glyph in text]
    edit = page.get_by_role("link", name="Ändra patientuppgifter")
    expect(edit.locator("svg.icon")).to_have_count(1)
    cancel = page.get_by_role("button", name=re.compile(r"^Makulera rad \d+$")).first
    expect(cancel.locator("svg.icon")).to_have_count(1)
    # Every icon is hidden from screen readers and sits in a link or button that has a name of its own.
    named = page.locator("svg.icon").evaluate_all("""icons => icons.map(i => i.getAttribute('aria-hidden') === 'true'
        && ((i.closest('a, button')?.innerText.trim() || '') !== '' || !!i.closest('[aria-label]')))""")
    assert named and all(named), named
    after(page, "9-width-favicon-svg-icons")


# --- Point 10: subgroups, a blank e-mail, where the address came from --------------------------------


def test_subgroup_choices_follow_the_chosen_product_group(stack: Stack, new_page) -> None:
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    tab(page, "Produkt")
    page.get_by_text("Avancerad sökning").click()
    subgroups = page.locator("#subgroup option[data-group]")
    everything = subgroups.count()
    group = subgroups.first.get_attribute("data-group")

    page.get_by_label("Produktgrupp").select_option(group)  # at once, with JavaScript
    shown = page.locator("#subgroup option[data-group]:not([hidden])")
    expect(shown.first).to_have_attribute("data-group", group)
    assert set(shown.evaluate_all("os => os.map(o => o.dataset.group)")) == {group}
    assert 0 < shown.count() < everything

    page.get_by_role("button", name="Sök", exact=True).click()  # and from the server, which needs no script
    expect(page.get_by_label("Produktgrupp")).to_have_value(group)
    assert set(subgroups.evaluate_all("os => os.map(o => o.dataset.group)")) == {group}
    show_choices(page, "#subgroup")
    after(page, "10-subgroups-follow-group")


def test_a_blank_email_on_my_page_is_refused_naming_the_field(stack: Stack, new_page) -> None:
    page = new_page(stack.web_url)
    log_in(page, "hms_staff")  # no other test reads this user's mail
    tab(page, "Min sida")
    email = page.get_by_label("E-post", exact=True)
    kept = email.input_value()
    assert kept
    email.fill("   ")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Spara ändringar av mina uppgifter").click()
    assert answer.value.status == 422
    expect(page.locator("#email-error")).to_have_text(
        "Ange din e-postadress; den behövs för meddelanden och för att återställa lösenordet.")
    expect(email).to_have_attribute("aria-invalid", "true")
    after(page, "10-blank-email-refused")
    tab(page, "Min sida")
    expect(page.get_by_label("E-post", exact=True)).to_have_value(kept)  # nothing was saved


def test_patient_overview_says_where_the_address_came_from_and_when(stack: Stack, new_page) -> None:
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    open_first_patient(page)
    expect(page.locator("#adresskalla")).to_have_text(
        re.compile(r"^Hämtad från folkbokföringen \(befolkningsregistret\) \d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    after(page, "10-address-source")


# --- Point 11: demo data agrees with the main server -------------------------------------------------


def withdrawals_registered(stack: Stack) -> list[dict]:
    return [r for r in stack.main_server_registrations() if r["kind"] == "withdrawal"]


def test_a_demo_withdrawal_is_registered_without_conflict(stack: Stack, new_page) -> None:
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    tab(page, "Min sida")
    links = page.locator("#uttag-ny").get_by_role("link", name=re.compile(r"^Redigera uttag U\d{9}$"))
    expect(links.first).to_be_visible()
    # The seeded ones have the lowest numbers: other tests' withdrawals are made later.
    demo = min(label.split()[-1] for label in links.evaluate_all("ls => ls.map(l => l.getAttribute('aria-label'))"))
    before = len(withdrawals_registered(stack))
    page.get_by_role("link", name=f"Redigera uttag {demo}").click()
    page.get_by_role("button", name="Skicka").click()
    expect(page.locator(".flash")).to_have_text(f"Uttag {demo} är skickat.")

    wait_until(lambda: len(withdrawals_registered(stack)) > before, 30, "the withdrawal at the main server")
    wait_until(lambda: stack.status()["sync"]["backlog"] == 0, 30, "the outbox to drain")
    assert [r["outcome"] for r in withdrawals_registered(stack)][before:] == ["created"]
    assert not [r for r in stack.main_server_registrations() if r["outcome"] != "created"]

    public = new_page(stack.web_url)
    public.goto("/status")
    expect(public.locator("main")).to_contain_text("Registrerad")
    expect(public.locator("main")).not_to_contain_text("Konflikt")
    after(public, "11-demo-withdrawal-no-conflict")
