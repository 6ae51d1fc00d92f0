"""Browser tests: the status page's subscription, IT staff publishing driftinfo and a prognosis, the
reserve banner, and a prescriber refused the publishing forms and API.

The reserve routine and the telephony incident opened here are closed again before the test ends,
so the other tests sharing the installation see normal operation.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import APIRequestContext, Page, expect

from core.clock import to_local
from app.demo.stack import Stack
from tests.e2e.browser.conftest import assert_accessible, csrf_token, link_in, log_in, unique, wait_for_mail
from tests.smtp_server import Inbox

RESERVE_BANNER = "Reservrutin gäller."
MANAGE_FORMS = ("driftinfo", "prognos", "uppdatering", "reservrutin/aktivera", "reservrutin/avsluta", "telefoni",
                "underhall")


def open_status_desk(page: Page) -> None:
    """As IT staff, go from the status page to the publishing desk."""
    page.get_by_role("navigation", name="Flikar").get_by_role("link", name="Status").click()
    page.get_by_role("link", name="Hantera driftstatus").click()
    assert_accessible(page)


def flash(page: Page):  # noqa: ANN201
    return page.locator(".flash").first


def reserve_banner(page: Page):  # noqa: ANN201
    """The banner on top of every page while the reserve routine applies (role=alert: screen readers announce it)."""
    return page.get_by_role("alert").filter(has_text=RESERVE_BANNER)


def bearer(request: APIRequestContext, username: str) -> dict[str, str]:
    """Return the Authorization header of a fresh API token for a demo account."""
    answer = request.post("/api/v1/tokens", data={"username": username, "password": "demo"})
    assert answer.status == 201, answer.text()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_subscriber_confirms_by_mail_gets_driftinfo_and_unsubscribes(
        stack: Stack, new_page, inbox: Inbox) -> None:  # noqa: ANN001
    address, title = unique("prenumerant.") + "@example.org", unique("Långsam inloggning ")
    public = new_page(stack.web_url)
    public.goto("/status")
    assert_accessible(public)
    public.get_by_label("E-postadress").fill(address)
    public.get_by_role("button", name="Prenumerera").click()
    expect(flash(public)).to_contain_text("Tack!")

    public.goto(link_in(wait_for_mail(inbox, address, "Bekräfta prenumeration"), "/status/prenumeration/bekrafta/"))
    assert_accessible(public)
    public.get_by_role("button", name="Bekräfta prenumerationen").click()
    expect(public.get_by_role("status")).to_have_text(
        "Tack! Prenumerationen är bekräftad. Du får nu mejl om driftstörningar.")

    it_staff = new_page(stack.web_url)
    log_in(it_staff, "it_staff")
    open_status_desk(it_staff)
    desk = it_staff.locator("#driftinfo")
    desk.get_by_label("Rubrik").fill(title)
    desk.get_by_label("Text", exact=True).fill("Inloggningen tar längre tid än vanligt. Felsökning pågår.")
    desk.get_by_role("button", name="Publicera driftinfo").click()
    expect(flash(it_staff)).to_have_text("Driftinfo publicerad.")

    public.goto("/status")
    post = public.locator("#driftinfo article", has_text=title)
    expect(post).to_contain_text("Inloggningen tar längre tid än vanligt.")

    mail = wait_for_mail(inbox, address, title)
    unsubscribe = link_in(mail, "/status/prenumeration/avsluta/")
    assert unsubscribe in str(mail["List-Unsubscribe"])
    public.goto(unsubscribe)
    assert_accessible(public)
    public.get_by_role("button", name="Avsluta prenumerationen").click()
    expect(public.get_by_role("status")).to_have_text("Prenumerationen är avslutad. Du får inga fler mejl från oss.")


@pytest.fixture
def telephony_back_to_normal(stack: Stack, new_page) -> Iterator[None]:  # noqa: ANN001
    """However the test ends, leave the reserve routine ended and telephony working."""
    yield
    if not (stack.status()["reserve"]["applies"] or stack.status()["incidents"]):
        return
    request = new_page(stack.web_url).request
    headers = bearer(request, "it_staff")
    request.post("/api/v1/reserve/deactivate", headers=headers, data={"reason": "Teststädning."})
    request.post("/api/v1/telephony", headers=headers, data={"disrupted": False, "message": "Fungerar igen."})
    assert not (stack.status()["reserve"]["applies"] or stack.status()["incidents"])


def test_it_staff_publish_a_prognosis_and_the_reserve_banner_is_announced(
        stack: Stack, new_page, telephony_back_to_normal) -> None:  # noqa: ANN001
    it_staff = new_page(stack.web_url)
    log_in(it_staff, "it_staff")
    open_status_desk(it_staff)
    telephony = it_staff.locator("#telefoni")
    telephony.get_by_label("Störd").check()
    telephony.get_by_label("Meddelande").fill("Kundservice nås inte på telefon just nu.")
    telephony.get_by_role("button", name="Spara").click()
    expect(flash(it_staff)).to_have_text("Telefonin är markerad som störd.")
    assert_accessible(it_staff)  # now with the prognosis and reserve forms

    prognosis = it_staff.locator("#prognos")
    prognosis.get_by_label("Prognos").fill("Operatören felsöker växeln.")
    expected = to_local(stack.now() + timedelta(hours=3))
    prognosis.get_by_label("Beräknat åtgärdat (svensk tid)").fill(expected.strftime("%Y-%m-%dT%H:%M"))
    prognosis.get_by_role("button", name="Publicera prognos").click()
    expect(flash(it_staff)).to_have_text("Prognosen är publicerad.")

    public = new_page(stack.web_url)
    public.goto("/status")
    incident = public.locator("section.incident", has_text="Operatören felsöker växeln.")
    expect(incident).to_contain_text(f"beräknat åtgärdat {expected:%Y-%m-%d %H:%M}")
    expect(public.get_by_role("alert")).to_have_count(0)  # telephony alone is no reserve routine

    reserve = it_staff.locator("#reservrutin")
    reserve.get_by_label("Skäl").fill("Akuta förskrivningar kan inte ringas in.")
    reserve.get_by_role("button", name="Aktivera reservrutinen nu").click()
    expect(flash(it_staff)).to_have_text("Reservrutinen gäller nu.")
    expect(reserve_banner(it_staff)).to_be_visible()

    prescriber = new_page(stack.web_url)
    log_in(prescriber, "prescriber")
    expect(reserve_banner(prescriber)).to_be_visible()  # on every page, announced
    public.reload()
    expect(reserve_banner(public)).to_be_visible()
    expect(public.get_by_role("region", name="Reservrutin")).to_contain_text("Akuta förskrivningar kan inte ringas in.")

    reserve.get_by_label("Skäl / bekräftelse").fill("Växeln fungerar igen.")
    reserve.get_by_role("button", name="Avsluta reservrutinen").click()
    expect(it_staff.get_by_role("heading", name="Avsluta reservrutinen?")).to_be_visible()  # asked first
    prescriber.reload()
    expect(reserve_banner(prescriber)).to_be_visible()  # nothing ended yet
    it_staff.get_by_role("button", name="Ja, avsluta reservrutinen").click()
    expect(flash(it_staff)).to_have_text("Reservrutinen har avslutats.")
    prescriber.reload()
    expect(prescriber.get_by_role("alert")).to_have_count(0)

    telephony.get_by_label("Fungerar igen").check()
    telephony.get_by_label("Meddelande").fill("Telefonin fungerar igen.")
    telephony.get_by_role("button", name="Spara").click()
    expect(flash(it_staff)).to_have_text("Telefonin är markerad som fungerande.")
    expect(it_staff.locator("#handelser")).to_contain_text("Inga pågående händelser.")


def test_prescriber_is_refused_the_status_desk_and_the_publishing_api(stack: Stack, new_page) -> None:  # noqa: ANN001
    title = unique("Obehörig driftinfo ")
    page = new_page(stack.web_url)
    log_in(page, "prescriber")
    page.get_by_role("navigation", name="Flikar").get_by_role("link", name="Status").click()
    expect(page.get_by_role("link", name="Hantera driftstatus")).to_have_count(0)
    assert page.goto("/status/hantera").status == 403

    # The forms, posted with the session's own valid CSRF token.
    page.goto("/status")
    assert_accessible(page)
    form = {"csrf_token": csrf_token(page), "driftinfo-title": title, "driftinfo-body": "Text.",
            "driftinfo-incident_id": "0"}
    for path in MANAGE_FORMS:
        assert page.request.post(f"/status/hantera/{path}", form=form).status == 403, path

    headers = bearer(page.request, "prescriber")
    assert page.request.post("/api/v1/driftinfo", headers=headers, data={"title": title, "body": "Text."}).status == 403
    assert page.request.post("/api/v1/reserve/activate", headers=headers, data={"reason": "Nej."}).status == 403

    page.reload()
    expect(page.locator("#driftinfo")).not_to_contain_text(title)
