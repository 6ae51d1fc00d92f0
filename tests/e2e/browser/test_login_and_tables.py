"""Browser tests: the login page's refusals, and the sortable, paged tables."""
from __future__ import annotations

import re
import string

from playwright.sync_api import Page, expect

from app.demo.stack import Stack
from tests.e2e.browser.conftest import OUTPUT, assert_accessible, column, log_in, prescribe

REFUSED = "Fel användarnamn eller lösenord."
THROTTLED = "För många misslyckade inloggningar. Försök igen om en stund."
MAX_FAILURES = 5  # LOGIN_MAX_FAILURES


def attempt_login(page: Page, username: str, password: str) -> tuple[int, str]:
    """Submit the login form; return the answer's status and the form's error text."""
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as answer:
        page.get_by_role("button", name="Logga in").click()
    return answer.value.status, page.locator(".form-errors").inner_text().strip()


def test_wrong_password_and_unknown_user_get_the_same_answer_without_lock_out(stack: Stack, new_page) -> None:  # noqa: ANN001
    page = new_page(stack.web_url)
    page.goto("/login")
    assert_accessible(page)

    wrong_password = attempt_login(page, "technician", "fel-lösenord")
    unknown_user = attempt_login(page, "ingen.sadan.anvandare", "fel-lösenord")
    assert wrong_password == unknown_user == (401, REFUSED)
    assert page.get_by_label("Lösenord").input_value() == ""  # the password is never echoed back
    assert_accessible(page)

    # Throttling counts per username and address, for names that exist and names that don't alike:
    # the answer never says that an account exists or is locked.
    for _ in range(MAX_FAILURES - 1):
        assert attempt_login(page, "ingen.sadan.anvandare", "fel-lösenord") == (401, REFUSED)
    assert attempt_login(page, "ingen.sadan.anvandare", "fel-lösenord") == (429, THROTTLED)

    # The real account with one failure behind it is not locked out.
    log_in(page, "technician")
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()


def test_patient_table_sorts_by_column_and_pages(stack: Stack, new_page) -> None:  # noqa: ANN001
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    page.get_by_role("navigation", name="Flikar").get_by_role("link", name="Patient").click()
    page.get_by_role("button", name="Sök", exact=True).click()  # empty: the prescriber's own patients
    assert_accessible(page)
    table = page.locator("#patienter")
    pager = table.locator(".pager-info")
    expect(pager).to_have_text(re.compile(r"^Visar 1–10 av \d+$"))
    total = int(pager.inner_text().split()[-1])
    assert total > 20
    by_personnummer = table.get_by_role("columnheader", name="Personnummer")
    expect(by_personnummer).to_have_attribute("aria-sort", "ascending")
    ascending = column(table, 0)
    assert ascending == sorted(ascending) and len(ascending) == 10

    by_personnummer.get_by_role("link").click()
    expect(by_personnummer).to_have_attribute("aria-sort", "descending")
    first_page = column(table, 0)
    assert first_page == sorted(first_page, reverse=True) and first_page[0] > ascending[-1]

    table.get_by_role("link", name="Nästa ›").click()
    expect(pager).to_have_text(f"Visar 11–20 av {total}")
    second_page = column(table, 0)
    assert second_page == sorted(second_page, reverse=True) and second_page[0] < first_page[-1]
    expect(by_personnummer).to_have_attribute("aria-sort", "descending")  # paging keeps the order

    table.get_by_label("Rader per sida").select_option("20")  # submits itself
    expect(pager).to_have_text(f"Visar 1–20 av {total}")
    assert column(table, 0)[:10] == first_page

    by_last_name = table.get_by_role("columnheader", name="Efternamn")
    by_last_name.get_by_role("link").click()
    expect(by_last_name).to_have_attribute("aria-sort", "ascending")
    expect(by_personnummer).to_have_attribute("aria-sort", "none")
    # Å, Ä and Ö sort differently under different collations; names starting A–Z are in order under all.
    initials = [name[0] for name in column(table, 1) if name[:1] in string.ascii_uppercase]
    assert len(initials) > 10 and initials == sorted(initials)


def test_dates_in_table_cells_never_wrap_at_their_hyphens(stack: Stack, new_page) -> None:  # noqa: ANN001
    page = new_page(stack.web_url)
    page.set_viewport_size({"width": 1024, "height": 900})  # narrower than the 1366 px the product is built for
    log_in(page, "prescriber")
    prescribe(page, patient=8)  # the overview now has a row with prescribed-on and valid-until dates
    page.wait_for_load_state()  # the style sheet applied, not only the HTML there
    dates = page.locator("#aktiva-rader td .nowrap")
    expect(dates.first).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    lines = "els => els.map(e => e.getClientRects().length)"
    assert set(dates.evaluate_all(lines)) == {1}, "a date was broken over two lines"
    page.screenshot(path=OUTPUT / "dates-kept-together.png", full_page=True)

    # Without the rule the same cells break at the hyphens once the column is narrow (here: its
    # heading allowed to wrap too, as narrow columns' headings do): the check above can see it.
    dates.evaluate_all("""els => els.forEach(e => { e.style.whiteSpace = 'normal'; })""")
    page.locator("#aktiva-rader th").evaluate_all("""els => els.forEach(e => { e.style.whiteSpace = 'normal'; })""")
    page.set_viewport_size({"width": 700, "height": 900})
    assert max(dates.evaluate_all(lines)) > 1
    page.screenshot(path=OUTPUT / "dates-wrapping-before.png", full_page=True)
