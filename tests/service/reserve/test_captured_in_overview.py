"""An acute prescription captured in the reserve routine shows where prescribers look: in the
patient's overview as "väntar på registrering" from capture on, and once the main server has
registered it as an ordinary active row with receipt, copy/correct and its trace (seed 004)."""
from __future__ import annotations

import html as html_lib
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from core.extensions import db
from core.models import PrescriptionRow
from reserve import capture
from reserve.models import ReserveItem
from reserve.registrations import note_item_registered
from reserve.rules import CaptureInput
from sync.outbox import items_for_subject
from tests import factories
from tests.conftest import login
from tests.service.reserve.conftest import FOUR_HOURS_LATER

CAPTURED_AT = FOUR_HOURS_LATER + timedelta(minutes=20)
REGISTERED_AT = FOUR_HOURS_LATER + timedelta(hours=3)
ACTIVE_ONE = 'Aktiva rader <span class="count">(1)</span>'


def captured(world) -> ReserveItem:  # noqa: ANN001
    data = CaptureInput(kind="prescription", channel="phone", patient=world["patient"].personnummer, unit="410215",
                        article="200101", packages=3, responsible_prescriber="anna", note="Akut.")
    item = capture.capture(world["agent"], data, current_app.extensions["reserve.runbooks"], CAPTURED_AT).item
    db.session.commit()
    return item


def overview(client, world) -> str:  # noqa: ANN001
    login(client, "anna")
    response = client.get(f"/patient/{world['patient'].id}")
    assert response.status_code == 200
    return html_lib.unescape(response.get_data(as_text=True))


def test_a_captured_prescription_shows_as_pending_in_the_overview(reserve_active, world, client):
    item = captured(world)
    html = overview(client, world)
    assert ACTIVE_ONE in html
    assert item.reserve_number in html and "Väntar på registrering" in html
    assert f'href="/reserv/arenden/{item.reserve_number}"' in html  # its trace
    assert 'name="row" value=' not in html  # nothing to copy or correct before the main server has it
    assert client.get(f"/reserv/arenden/{item.reserve_number}").status_code == 200  # the prescriber may follow it


def test_once_registered_it_is_an_ordinary_active_row_with_receipt_and_trace(reserve_active, world, client):
    item = captured(world)
    assert note_item_registered(item.reserve_number, "F00000042", REGISTERED_AT)
    db.session.commit()
    db.session.refresh(item)
    row = db.session.scalar(select(PrescriptionRow).where(PrescriptionRow.prescription_id == item.prescription_id))
    assert (row.status, row.packages_per_withdrawal, row.withdrawals, row.prescription.prescriber_id) == (
        "active", 3, 1, world["prescriber"].id)
    assert items_for_subject(f"prescription:{row.prescription_id}") == []  # the main server has it already
    html = overview(client, world)
    number = row.prescription.number
    assert ACTIVE_ONE in html and "Väntar på registrering" not in html
    assert "huvudsystemet F00000042" in html and f"reservnr {item.reserve_number}" in html
    assert f'name="row" value="{row.id}"' in html  # copy / correct
    assert f'href="/forskrivning/{number}/kvitto.pdf"' in html
    assert f'href="/reserv/arenden/{item.reserve_number}"' in html
    receipt = client.get(f"/forskrivning/{number}/kvitto.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    assert not note_item_registered(item.reserve_number, "F00000042", REGISTERED_AT)  # once


def test_a_registered_acute_prescription_supersedes_the_patients_active_row(reserve_active, world, client):
    old = factories.prescription_row(world["patient"], world["diaper"], world["prescriber"], unit=world["care"])
    item = captured(world)
    assert note_item_registered(item.reserve_number, "F00000043", REGISTERED_AT)
    db.session.commit()
    db.session.refresh(old)
    assert old.status == "cancelled"
    active = db.session.scalars(select(PrescriptionRow).where(
        PrescriptionRow.patient_id == world["patient"].id, PrescriptionRow.status == "active")).all()
    assert [r.prescription_id for r in active] == [db.session.get(ReserveItem, item.id).prescription_id]


def test_it_staff_follow_a_captured_prescription_without_seeing_the_patient(reserve_active, world, client):
    item = captured(world)
    login(client, "sara")  # IT staff: the routine's pages, yes; patients' data, never
    page = client.get(f"/reserv/arenden/{item.reserve_number}")
    assert page.status_code == 200 and world["patient"].personnummer not in page.get_data(as_text=True)


def test_captured_stock_moves_show_in_the_orders_list_until_and_after_registration(reserve_active, world, client):
    data = CaptureInput(kind="stock_move", channel="phone", unit="420107", article="200101", packages=10)
    item = capture.capture(world["hms"], data, current_app.extensions["reserve.runbooks"], CAPTURED_AT).item
    db.session.commit()
    login(client, "johan")
    section = html_lib.unescape(client.get("/order/").get_data(as_text=True)).split('id="reservrutin"')[1]
    assert item.reserve_number in section and "Lagerflytt" in section and "Väntar på registrering" in section
    assert note_item_registered(item.reserve_number, "L00000007", REGISTERED_AT)
    db.session.commit()
    section = html_lib.unescape(client.get("/order/").get_data(as_text=True)).split('id="reservrutin"')[1]
    assert "Registrerad i huvudsystemet (L00000007)" in section
