"""Uttag in the browser: My page, the patient overview's history, Skicka / Avbryt, overview, per article."""
from __future__ import annotations

import re

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from core.models import AccessLogEntry, PrescriptionRow, SavedSearch
from app.withdrawals import queries
from app.withdrawals.models import Withdrawal
from tests import factories
from tests.conftest import csrf_token_from, login
from tests.service.withdrawals.conftest import TODAY, bearer, scalar, scalars, journal_moved

U_NUMBER = re.compile(r"U\d{9}")


def new_withdrawal(client, world, username="maria", packages=2, row=None) -> str:
    response = client.post("/api/v1/withdrawals", headers=bearer(client, username),
                           json={"row_id": (row or world.row).id, "packages": packages})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def page_text(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def post_form(client, path: str, form_page: str, **data):
    token = csrf_token_from(page_text(client, form_page))
    return client.post(path, data={"csrf_token": token, **data})


@freeze_time(TODAY)
def test_my_page_lists_withdrawals_needing_action_with_a_pen_and_logs_the_patients(client, world):
    number = new_withdrawal(client, world)
    login(client, "karin")
    html = page_text(client, "/min-sida/")
    assert "Uttag som måste åtgärdas" in html and number in html and world.patient.personnummer in html
    assert "Redigera" in html and "Uttagsöversikt" in html
    journal_moved()
    assert scalar(select(AccessLogEntry).where(AccessLogEntry.context == "mypage.withdrawals",
                                               AccessLogEntry.patient_id == world.patient.id))


@freeze_time(TODAY)
def test_a_sent_withdrawal_leaves_my_page(client, world):
    number = new_withdrawal(client, world)
    login(client, "maria")
    response = post_form(client, f"/uttag/{number}/skicka", f"/uttag/{number}", back="/min-sida/")
    assert response.status_code == 303 and response.headers["Location"] == "/min-sida/"
    html = page_text(client, "/min-sida/")
    assert f"Uttag {number} är skickat." in html and "Inga uttag att åtgärda." in html
    assert scalar(select(Withdrawal.status).where(Withdrawal.number == int(number[1:]))) == "sent"


@freeze_time(TODAY)
def test_the_pen_opens_the_withdrawal_where_it_can_be_sent_or_aborted(client, world):
    number = new_withdrawal(client, world)
    login(client, "karin")
    html = page_text(client, f"/uttag/{number}?tillbaka=/min-sida/")
    assert "Skicka" in html and "Avbryt uttaget" in html and 'value="/min-sida/"' in html
    assert "E-tjänst (API)" in html and "Maria Kundservice" in html
    asked = post_form(client, f"/uttag/{number}/avbryt", f"/uttag/{number}")
    assert asked.status_code == 200 and f"Avbryta uttag {number}?" in asked.get_data(as_text=True)
    assert scalar(select(Withdrawal.status).where(Withdrawal.number == int(number[1:]))) != "aborted"  # only asked
    response = post_form(client, f"/uttag/{number}/avbryt", f"/uttag/{number}", bekraftat="ja")
    assert response.status_code == 303
    assert f"Uttag {number} är avbrutet." in page_text(client, response.headers["Location"])
    assert scalar(select(PrescriptionRow.withdrawals_used).where(PrescriptionRow.id == world.row.id)) == 0


@pytest.mark.parametrize("back", ["//evil.example/", "/\t/evil.example/", "https://evil.example/"])
@freeze_time(TODAY)
def test_a_foreign_back_address_is_ignored(client, world, back):
    number = new_withdrawal(client, world)
    login(client, "maria")
    response = post_form(client, f"/uttag/{number}/skicka", f"/uttag/{number}", back=back)
    assert response.headers["Location"] == f"/uttag/{number}"
    assert 'value="//evil.example/"' not in page_text(client, f"/uttag/{number}?tillbaka=//evil.example/")


@freeze_time(TODAY)
def test_a_refused_change_explains_itself(client, world):
    number = new_withdrawal(client, world)
    login(client, "maria")
    post_form(client, f"/uttag/{number}/skicka", f"/uttag/{number}")
    response = post_form(client, f"/uttag/{number}/avbryt", f"/uttag/{number}", bekraftat="ja")
    assert "redan skickat till distributören" in page_text(client, response.headers["Location"])


@freeze_time(TODAY)
def test_customer_service_records_the_delivery_of_a_sent_withdrawal(client, world):
    number = new_withdrawal(client, world)
    login(client, "maria")
    post_form(client, f"/uttag/{number}/skicka", f"/uttag/{number}")
    assert "Registrera som levererat" in page_text(client, f"/uttag/{number}")
    post_form(client, f"/uttag/{number}/levererad", f"/uttag/{number}")
    assert scalar(select(Withdrawal.status).where(Withdrawal.number == int(number[1:]))) == "delivered"


def test_posting_without_the_csrf_token_changes_nothing(client, world):
    with freeze_time(TODAY):
        number = new_withdrawal(client, world)
    login(client, "maria")
    assert client.post(f"/uttag/{number}/skicka", data={}).status_code == 400
    assert scalar(select(Withdrawal.status).where(Withdrawal.number == int(number[1:]))) == "new"


@freeze_time(TODAY)
def test_patient_overview_has_the_history_and_a_link_to_withdrawals_per_article(client, world):
    number = new_withdrawal(client, world)
    login(client, "karin")
    html = page_text(client, f"/patient/{world.patient.id}")
    assert "Uttagshistorik" in html and number in html and "2026-11-21" in html
    assert f"/uttag/patient/{world.patient.id}/artikel" in html and "Uttag per artikel" in html
    assert "Skapa uttag från aktiv rad" in html and "3 uttag kvar" in html


@freeze_time(TODAY)
def test_creating_a_withdrawal_in_the_browser(client, world):
    login(client, "karin")
    form = f"/uttag/ny?rad={world.row.id}"
    html = page_text(client, form)
    assert 'value="3"' in html and "Högst 3 förpackningar per uttag" in html
    too_many = post_form(client, form, form, packages="5")
    assert too_many.status_code == 422
    assert "Högst 3 förpackningar per uttag" in too_many.get_data(as_text=True)
    assert scalar(select(Withdrawal.id)) is None
    done = post_form(client, form, form, packages="2")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/patient/{world.patient.id}#uttag")
    flash = page_text(client, done.headers["Location"])
    number = U_NUMBER.search(flash.split("uttagsnummer", 1)[1]).group(0)
    created = scalar(select(Withdrawal).where(Withdrawal.number == int(number[1:])))
    assert created.channel == "prescriber" and created.packages == 2 and created.status == "new"


@freeze_time(TODAY)
def test_customer_service_withdrawals_are_recorded_as_theirs(client, world):
    login(client, "maria")
    form = f"/uttag/ny?rad={world.row.id}"
    post_form(client, form, form, packages="1")
    assert scalar(select(Withdrawal.channel)) == "customer_service"


@freeze_time(TODAY)
def test_a_closed_row_cannot_get_a_withdrawal_in_the_browser(client, world):
    cancelled = factories.prescription_row(world.patient, world.drink, world.karin, unit=world.north,
                                           status="cancelled")
    login(client, "maria")
    form = f"/uttag/ny?rad={cancelled.id}"
    response = post_form(client, form, form, packages="1")
    assert response.status_code == 409 and "avslutad (Makulerad)" in response.get_data(as_text=True)


@freeze_time(TODAY)
def test_withdrawals_per_article_shows_only_that_article_and_is_logged(client, world):
    drink_row = factories.prescription_row(world.patient, world.drink, world.karin, unit=world.north)
    pads_number = new_withdrawal(client, world)
    drink_number = new_withdrawal(client, world, row=drink_row, packages=1)
    login(client, "karin")
    html = page_text(client, f"/uttag/patient/{world.patient.id}/artikel?artikel={world.drink.id}")
    assert drink_number in html and pads_number not in html and "Näringsdryck Jordgubb" in html
    journal_moved()
    assert scalar(select(AccessLogEntry).where(AccessLogEntry.context == "withdrawals.per_article"))


@freeze_time(TODAY)
def test_overview_is_newest_first_and_searchable_by_u_number(client, world):
    first = new_withdrawal(client, world)
    second = new_withdrawal(client, world, packages=1)
    login(client, "karin")
    html = page_text(client, "/uttag/")
    assert "Uttagsöversikt" in html and html.index(second) < html.index(first)
    found = page_text(client, f"/uttag/?q={first}")
    assert first in found and second not in found


@freeze_time(TODAY)
def test_a_prescriber_does_not_see_other_units_withdrawals_in_the_overview(client, world):
    other = factories.prescription_row(factories.patient(last_name="Söderlund"), world.pads, world.olle,
                                       unit=world.south)
    theirs = new_withdrawal(client, world, row=other)
    mine = new_withdrawal(client, world)
    login(client, "karin")
    html = page_text(client, "/uttag/")
    assert mine in html and theirs not in html and "Vårdcentralen Söder" not in html


def test_bad_advanced_search_input_gets_a_message_per_field(client, world):
    login(client, "karin")
    html = page_text(client, "/uttag/?q=X1&patient=1950&from=2026-13-40", status=400)
    assert "Ange uttagsnummer" in html and "12 siffror" in html and "ÅÅÅÅ-MM-DD" in html
    assert 'aria-invalid="true"' in html


@freeze_time(TODAY)
def test_an_advanced_search_is_saved_and_replayed(client, world):
    number = new_withdrawal(client, world)
    login(client, "karin")
    search = f"/uttag/?patient={world.patient.personnummer}&status=new"
    response = post_form(client, "/sparade-sokningar/", search, scope="withdrawals", name="Åkes nya uttag",
                         back=search + "&page=1")
    assert response.status_code == 302
    saved = scalar(select(SavedSearch))
    assert saved.scope == "withdrawals" and saved.query == f"patient={world.patient.personnummer}&status=new"
    html = page_text(client, "/uttag/")
    assert "Åkes nya uttag" in html
    assert number in page_text(client, f"/uttag/?{saved.query}")


@freeze_time(TODAY)
def test_overview_says_when_only_the_newest_matches_are_shown(client, world, monkeypatch):
    monkeypatch.setattr(queries, "LIST_CAP", 2)
    for _ in range(3):
        new_withdrawal(client, world, packages=1)
    login(client, "maria")
    html = page_text(client, "/uttag/")
    assert "De 2 senaste visas" in html
    assert set(U_NUMBER.findall(html)) - {"U194600976"} == {"U100000002", "U100000003"}  # the placeholder aside


@pytest.mark.parametrize(("username", "path"), [("erik", "/uttag/"), ("erik", "/uttag/ny?rad=1")])
def test_roles_without_the_right_get_403(client, world, username, path):
    login(client, username)
    assert client.get(path).status_code == 403


def test_an_unknown_u_number_is_a_clear_404(client, world):
    login(client, "maria")
    html = page_text(client, "/uttag/U999999999", status=404)
    assert "Uttag U999999999 finns inte." in html


def test_my_page_of_a_technician_has_no_withdrawal_section(client, world):
    login(client, "erik")
    html = page_text(client, "/min-sida/")
    assert "Uttag som måste åtgärdas" not in html and "Lagersaldo" in html
    journal_moved()
    assert scalars(select(AccessLogEntry)) == []
