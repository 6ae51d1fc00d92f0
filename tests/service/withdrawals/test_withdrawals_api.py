"""Withdrawals through the JSON API: create, send, abort, deliver, search; bad input names its field."""
from __future__ import annotations

import re
from datetime import date

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from core.models import AccessLogEntry, PrescriptionRow
from app.withdrawals.models import Withdrawal
from tests import factories
from tests.service.withdrawals.conftest import TODAY, bearer, scalar, scalars, journal_moved


def create(client, headers, row_id, packages=3):
    return client.post("/api/v1/withdrawals", headers=headers, json={"row_id": row_id, "packages": packages})


def withdrawals_count() -> int:
    return scalar(select(func.count()).select_from(Withdrawal))


def row_used(row) -> int:
    return scalar(select(PrescriptionRow.withdrawals_used).where(PrescriptionRow.id == row.id))


@freeze_time(TODAY)
def test_api_creates_a_new_withdrawal_with_a_u_number_via_the_e_service_channel(client, world):
    response = create(client, bearer(client, "maria"), world.row.id, packages=2)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert re.fullmatch(r"U\d{9}", body["number"])
    assert body["status"] == "new" and body["status_label"] == "Ny" and body["channel"] == "e_service"
    assert body["packages"] == 2 and body["ordered_at"].startswith("2026-11-21T10:00")
    assert row_used(world.row) == 1


@freeze_time(TODAY)
def test_u_numbers_follow_each_other(client, world):
    headers = bearer(client, "maria")
    first = create(client, headers, world.row.id).get_json()["number"]
    second = create(client, headers, world.row.id).get_json()["number"]
    assert int(second[1:]) == int(first[1:]) + 1


@freeze_time(TODAY)
def test_more_packages_than_one_withdrawal_allows_is_422_on_packages_and_nothing_is_saved(client, world):
    response = create(client, bearer(client, "maria"), world.row.id, packages=4)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "packages" and "Högst 3 förpackningar per uttag" in error["message"]
    assert withdrawals_count() == 0 and row_used(world.row) == 0


@freeze_time(TODAY)
def test_a_row_with_no_withdrawals_left_refuses_one_more(client, world):
    headers = bearer(client, "maria")
    for _ in range(4):
        assert create(client, headers, world.row.id).status_code == 201
    fifth = create(client, headers, world.row.id, packages=1)
    assert fifth.status_code == 409 and fifth.get_json()["error"]["field"] == "row_id"
    assert "inga uttag kvar" in fifth.get_json()["error"]["message"]
    assert withdrawals_count() == 4 and row_used(world.row) == 4


@pytest.mark.parametrize(("status", "label"), [("cancelled", "Makulerad"), ("delivered", "Levererad")])
@freeze_time(TODAY)
def test_a_closed_row_refuses_withdrawals(client, world, status, label):
    closed = factories.prescription_row(world.patient, world.drink, world.karin, unit=world.north, status=status)
    response = create(client, bearer(client, "maria"), closed.id, packages=1)
    assert response.status_code == 409
    assert response.get_json()["error"]["field"] == "row_id" and label in response.get_json()["error"]["message"]
    assert withdrawals_count() == 0


def test_an_expired_row_refuses_withdrawals(client, world):
    with freeze_time("2027-11-03 10:00"):  # the row was prescribed 2026-11-02: its year is over
        response = create(client, bearer(client, "maria"), world.row.id, packages=1)
    assert response.status_code == 409 and "Utgått" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"row_id": 999999, "packages": 1}, "row_id"),
    ({"row_id": 1, "packages": 0}, "packages"),
    ({"row_id": 1, "packages": "2"}, "packages"),
    ({"row_id": 1}, "packages"),
    ({"row_id": 1, "packages": 1, "colour": "red"}, "colour"),
])
def test_bad_bodies_name_the_field_and_save_nothing(client, world, body, field):
    response = client.post("/api/v1/withdrawals", headers=bearer(client, "maria"), json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert withdrawals_count() == 0


def test_hms_staff_and_technicians_cannot_create_withdrawals(client, world):
    for username in ("johan", "erik"):
        assert create(client, bearer(client, username), world.row.id).status_code == 403
    assert withdrawals_count() == 0


@freeze_time(TODAY)
def test_send_then_deliver_then_nothing_more(client, world):
    number = create(client, bearer(client, "karin"), world.row.id).get_json()["number"]
    sent = client.post(f"/api/v1/withdrawals/{number}/send", headers=bearer(client, "karin"))
    assert sent.status_code == 200 and sent.get_json()["status"] == "sent" and sent.get_json()["sent_at"]
    cannot_abort = client.post(f"/api/v1/withdrawals/{number}/abort", headers=bearer(client, "karin"))
    assert cannot_abort.status_code == 409 and "redan skickat" in cannot_abort.get_json()["error"]["message"]
    delivered = client.post(f"/api/v1/withdrawals/{number}/deliver", headers=bearer(client, "johan"))
    assert delivered.status_code == 200 and delivered.get_json()["delivered_at"].startswith("2026-11-21")
    again = client.post(f"/api/v1/withdrawals/{number}/send", headers=bearer(client, "karin"))
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "number"


@freeze_time(TODAY)
def test_a_prescriber_cannot_record_a_delivery_and_a_new_withdrawal_cannot_be_delivered(client, world):
    number = create(client, bearer(client, "karin"), world.row.id).get_json()["number"]
    assert client.post(f"/api/v1/withdrawals/{number}/deliver", headers=bearer(client, "karin")).status_code == 403
    not_sent = client.post(f"/api/v1/withdrawals/{number}/deliver", headers=bearer(client, "maria"))
    assert not_sent.status_code == 409 and "Ny" in not_sent.get_json()["error"]["message"]


@freeze_time(TODAY)
def test_aborting_gives_the_row_its_withdrawal_back(client, world):
    headers = bearer(client, "maria")
    number = create(client, headers, world.row.id).get_json()["number"]
    assert row_used(world.row) == 1
    aborted = client.post(f"/api/v1/withdrawals/{number}/abort", headers=headers)
    assert aborted.status_code == 200 and aborted.get_json()["status_label"] == "Avbruten"
    assert row_used(world.row) == 0
    assert client.post(f"/api/v1/withdrawals/{number}/abort", headers=headers).status_code == 409
    assert row_used(world.row) == 0


@freeze_time(TODAY)
def test_the_row_closes_as_delivered_when_its_last_withdrawal_is_delivered(client, world):
    staff = bearer(client, "maria")
    row = factories.prescription_row(world.patient, world.drink, world.karin, unit=world.north, withdrawals=2)
    numbers = [create(client, staff, row.id, packages=1).get_json()["number"] for _ in range(2)]
    for number in numbers:
        client.post(f"/api/v1/withdrawals/{number}/send", headers=staff)
    client.post(f"/api/v1/withdrawals/{numbers[0]}/deliver", headers=staff)
    assert scalar(select(PrescriptionRow.status).where(PrescriptionRow.id == row.id)) == "active"  # one on its way
    client.post(f"/api/v1/withdrawals/{numbers[1]}/deliver", headers=staff)
    closed = scalar(select(PrescriptionRow).where(PrescriptionRow.id == row.id))
    assert closed.status == "delivered" and closed.closed_at is not None
    assert closed.display_status(date(2026, 11, 21)) == "Levererad"


@freeze_time(TODAY)
def test_sending_a_withdrawal_of_a_cancelled_row_is_refused(client, world):
    number = create(client, bearer(client, "maria"), world.row.id).get_json()["number"]
    assert client.post(f"/api/v1/prescription-rows/{world.row.id}/cancel",
                       headers=bearer(client, "karin")).status_code == 200
    refused = client.post(f"/api/v1/withdrawals/{number}/send", headers=bearer(client, "maria"))
    assert refused.status_code == 409 and "makulerad" in refused.get_json()["error"]["message"]
    assert client.post(f"/api/v1/withdrawals/{number}/abort", headers=bearer(client, "maria")).status_code == 200


@pytest.mark.parametrize("number", ["U999999999", "999999999", "U12", "nonsense"])
def test_unknown_or_malformed_u_numbers_are_404_naming_the_number(client, world, number):
    for action in ("send", "abort"):
        response = client.post(f"/api/v1/withdrawals/{number}/{action}", headers=bearer(client, "maria"))
        assert response.status_code == 404 and response.get_json()["error"]["field"] == "number"
    assert client.get(f"/api/v1/withdrawals/{number}", headers=bearer(client, "maria")).status_code == 404


# ---------------------------------------------------------------- search


@pytest.fixture
def history(client, world):
    """Withdrawals on three days in two units: Norr (Karin's) and Söder (Olle's)."""
    staff = bearer(client, "maria")
    other_patient = factories.patient(first_name="Berit", last_name="Ek")
    south_row = factories.prescription_row(other_patient, world.pads, world.olle, unit=world.south)
    made = {}
    for day, row, packages in (("2026-11-02", world.row, 1), ("2026-11-10", south_row, 2),
                               ("2026-11-20", world.row, 3)):
        with freeze_time(f"{day} 09:00"):
            made[day] = create(client, staff, row.id, packages=packages).get_json()["number"]
    with freeze_time("2026-11-20 12:00"):
        client.post(f"/api/v1/withdrawals/{made['2026-11-02']}/send", headers=staff)
    return made


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [w["number"] for w in response.get_json()["withdrawals"]]


def test_overview_is_newest_first_and_customer_service_sees_every_unit(client, world, history):
    response = client.get("/api/v1/withdrawals", headers=bearer(client, "maria"))
    assert numbers(response) == [history["2026-11-20"], history["2026-11-10"], history["2026-11-02"]]
    assert response.get_json()["capped"] is False


def test_a_prescriber_sees_the_withdrawals_of_their_own_units_only(client, world, history):
    karin = bearer(client, "karin")
    assert numbers(client.get("/api/v1/withdrawals", headers=karin)) == [history["2026-11-20"],
                                                                         history["2026-11-02"]]
    assert numbers(client.get(f"/api/v1/withdrawals?unit={world.south.id}", headers=karin)) == []
    olle = bearer(client, "olle")
    assert numbers(client.get("/api/v1/withdrawals", headers=olle)) == [history["2026-11-10"]]


def test_search_by_u_number_patient_unit_status_and_dates(client, world, history):
    staff = bearer(client, "maria")
    search = lambda query: numbers(client.get(f"/api/v1/withdrawals?{query}", headers=staff))  # noqa: E731
    assert search(f"q={history['2026-11-10']}") == [history["2026-11-10"]]
    assert search(f"q={history['2026-11-10'].lower()}") == [history["2026-11-10"]]
    assert search(f"patient={world.patient.personnummer}") == [history["2026-11-20"], history["2026-11-02"]]
    assert search(f"unit={world.south.id}") == [history["2026-11-10"]]
    assert search("status=sent") == [history["2026-11-02"]]
    assert search("from=2026-11-05&to=2026-11-10") == [history["2026-11-10"]]
    assert search(f"patient={factories.make_personnummer(1977, 5, 5)}") == []


def test_search_results_are_sortable_and_paged(client, world, history):
    staff = bearer(client, "maria")
    by_packages = client.get("/api/v1/withdrawals?sort=packages&dir=asc&per_page=5&page=1", headers=staff)
    assert [w["packages"] for w in by_packages.get_json()["withdrawals"]] == [1, 2, 3]
    assert by_packages.get_json()["per_page"] == 5


def test_each_patient_shown_by_the_search_is_written_to_the_access_log(client, world, history):
    client.get("/api/v1/withdrawals", headers=bearer(client, "maria"))
    journal_moved()
    logged = scalars(select(AccessLogEntry).where(AccessLogEntry.context == "api.withdrawals.search"))
    assert len(logged) == 2 and {e.action for e in logged} == {"withdrawals"}
    assert world.patient.id in {e.patient_id for e in logged}


@pytest.mark.parametrize(("query", "field"), [
    ("q=X12", "q"), ("patient=19500101", "patient"), ("status=lost", "status"), ("from=2026-02-30", "from"),
    ("from=2026-11-21&to=2026-11-01", "to"), ("unit=norr", "unit"), ("colour=red", "colour"),
])
def test_bad_search_parameters_are_422_naming_them(client, world, query, field):
    response = client.get(f"/api/v1/withdrawals?{query}", headers=bearer(client, "maria"))
    assert response.status_code == 422 and response.get_json()["error"]["field"] == field


def test_technicians_cannot_search_withdrawals(client, world):
    assert client.get("/api/v1/withdrawals", headers=bearer(client, "erik")).status_code == 403


def test_one_withdrawal_is_readable_and_its_read_logged(client, world, history):
    response = client.get(f"/api/v1/withdrawals/{history['2026-11-20']}", headers=bearer(client, "karin"))
    assert response.status_code == 200
    assert response.get_json()["personnummer"] == world.patient.personnummer
    journal_moved()
    assert scalar(select(AccessLogEntry).where(AccessLogEntry.context == "api.withdrawals.show"))
