"""Patientdatalagen: every GET route that shows a patient's personal data writes an access-log row.

The test walks Flask's URL map, fills each route's parameters with the canary patient's ids and
numbers, requests it as every role that works with patients, and checks each response that carries
the canary's name, personnummer or address against the rows that request added. A new page that
forgets the log fails here without anyone listing it.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from freezegun import freeze_time
from pypdf import PdfReader
from sqlalchemy import func, select

from app.withdrawals.models import Order
from core.auth.roles import Role
from core.clock import utcnow
from core.extensions import db
from core.models import AccessLogEntry, Patient, PrescriptionRow
from core.privacy.screens import screen_name
from core.store import begin_write
from core.privacy.access_journal import ingest_pending
from reserve import kit
from reserve.models import ReserveItem
from status import incidents
from status.scenarios import Scenario
from status.settings import current_settings
from sync.outbox import enqueue
from tests import factories
from tests.client import FreshClient
from tests.conftest import api_token, login
from tests.service.withdrawals.conftest import TODAY, World, build_world, set_stock

CANARY = {"first_name": "Kanariefågel", "last_name": "Gruvsson", "registered_street": "Gruvgången 13",
          "delivery_street": "Schaktvägen 7"}

# Routes the walk cannot render, with the reason; everything else in the URL map is requested.
SKIPPED = {
    "static": "files from app/static: no data",
    "sync.static": "files: no data",
    "reserve.static": "files: no data",
    "status.static": "files: no data",
    "status.unsubscribe": "a subscriber's e-mail token: status subscribers are not patients",
    "status.confirm": "a subscriber's e-mail token: status subscribers are not patients",
    "messages.show": "messages carry no patient reference to fill (free text is the sender's business)",
    "messages.attachment": "as messages.show",
    "messages_api.attachment": "as messages.show",
    "access_admin.show": "access applications are about staff, not patients",
    "admin.outgoing_mail_show": "a mail is screened for personal data when queued (core.mail): it names no patient",
    "reserve.checklist": "checklists come from runbooks and name no patient",
    "reserve.drill_report": "drills use made-up data only",
}

# Routes that must show the canary to someone: guards the walk against passing because nothing rendered.
MUST_SHOW = {
    "patients.overview", "patients.edit", "prescribing.show", "prescribing.new", "prescribing_api.show",
    "patients_api.overview", "prescribing.receipt", "prescribing.receipt_active", "withdrawals.show",
    "withdrawals_api.show", "orders.show", "reserve.item", "sync.item", "reserve.kit_document",
}

VIEWERS = ("karin", "maria", "johan", "boss")  # prescriber, customer service, HMS, admin


@dataclass
class Canary:
    world: World
    values: dict[str, object]  # URL parameter name -> value, per endpoint prefix when they differ


def _seed(app: Flask, client: FreshClient) -> Canary:
    with app.app_context():
        world = build_world()
        patient = db.session.get(Patient, world.patient.id)
        for name, value in CANARY.items():
            setattr(patient, name, value)
        db.session.commit()
        factories.user("boss", roles=(Role.ADMIN,), name="Berit Verksamhetsansvarig")
        factories.user("ivar", roles=(Role.IT_STAFF,), name="Ivar IT")
        set_stock(world.central, world.pads, 100)
        prescription_number = db.session.get(PrescriptionRow, world.row.id).prescription.number
    maria, karin = _bearer(client, "maria"), _bearer(client, "karin")
    withdrawal = client.post("/api/v1/withdrawals", headers=maria, json={"row_id": world.row.id, "packages": 1})
    assert withdrawal.status_code == 201, withdrawal.get_json()
    order = client.post("/api/v1/orders", headers=karin, json={
        "type": "prescription", "unit_id": world.north.id, "patient_id": world.patient.id,
        "lines": [{"article_number": "310001", "quantity": 3}]})
    assert order.status_code == 201, order.get_json()
    with app.app_context():
        begin_write()
        incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow() - timedelta(hours=5), utcnow(),
                                           current_settings())
        db.session.commit()
        begin_write()
        item = enqueue("prescription", {"patient": {"personnummer": world.patient.personnummer},
                                        "rows": [{"article": "310001", "packages_per_withdrawal": 2,
                                                  "withdrawals": 4}], "prescribed_on": "2026-11-21"},
                       requires_review=True, channel="phone", created_by_id=world.maria.id)
        reserve_item = ReserveItem(number=99_000_001, kind="prescription", channel="phone", priority=3,
                                   incident_id=incident.id, patient_id=world.patient.id, unit_id=world.north.id,
                                   article_id=world.pads.id, packages=2, captured_by_id=world.maria.id,
                                   captured_at=utcnow())
        db.session.add(reserve_item)
        db.session.commit()
        unit_list = next(d for d in kit.generate(utcnow()).documents if d.kind == "unit_list")
        values = {
            "patient_id": world.patient.id, "incident_id": incident.id, "key": item.key,
            "document_id": unit_list.id, "name": unit_list.filename, "slug": "forskrivning",
            "order_id": db.session.scalar(select(func.max(Order.id))),
            "number:prescribing": prescription_number, "number:withdrawals": withdrawal.get_json()["number"],
            "number:reserve": reserve_item.number,
        }
    return Canary(world, values)


def _bearer(client: FreshClient, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(client, username)}"}


def _url(app: Flask, rule, values: dict[str, object]) -> str | None:
    """Fill the rule's parameters with the canary's values; None when one has no value."""
    filled = {}
    for argument in rule.arguments:
        value = values.get(f"{argument}:{rule.endpoint.split('.')[0].removesuffix('_api')}", values.get(argument))
        if value is None:
            return None
        filled[argument] = value
    with app.test_request_context():
        return app.url_for(rule.endpoint, **filled)


def _text(response) -> str:
    if response.mimetype == "application/pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    return response.get_data(as_text=True)


def _names_patient(body: object, patient_id: int) -> bool:
    """Whether a JSON body carries a record tied to the patient (a "patient_id" of theirs)."""
    if isinstance(body, dict):
        return body.get("patient_id") == patient_id or any(_names_patient(v, patient_id) for v in body.values())
    if isinstance(body, list):
        return any(_names_patient(v, patient_id) for v in body)
    return False


def _shows_canary(response, patient: Patient) -> bool:
    """Whether the response shows the canary: name, personnummer, address, or (JSON) a record of theirs."""
    text, pnr = _text(response), patient.personnummer
    markers = (CANARY["last_name"], CANARY["registered_street"], CANARY["delivery_street"], pnr,
               f"{pnr[:8]}-{pnr[8:]}")
    return any(m in text for m in markers) or (response.is_json and _names_patient(response.get_json(), patient.id))


def _rows_for(app: Flask, user_id: int, patient_id: int) -> int:
    with app.app_context():
        ingest_pending()  # as every reader of the log does first
        return db.session.scalar(select(func.count()).select_from(AccessLogEntry).where(
            AccessLogEntry.user_id == user_id, AccessLogEntry.patient_id == patient_id)) or 0


def _get_routes(app: Flask) -> list:
    return sorted((r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in SKIPPED),
                  key=lambda r: r.rule)


@freeze_time(TODAY)
def test_every_get_route_that_shows_the_canary_wrote_its_access_log_row(app: Flask) -> None:
    client = FreshClient(app, app.response_class, use_cookies=True)
    canary = _seed(app, client)
    patient_id = canary.world.patient.id
    routes = _get_routes(app)
    shown, unlogged, unfilled = set(), [], [r.endpoint for r in routes if _url(app, r, canary.values) is None]
    assert unfilled == [], f"routes whose parameters the walk cannot fill; fill them or list them in SKIPPED: {unfilled}"
    for username in (*VIEWERS, "ivar"):
        viewer = FreshClient(app, app.response_class, use_cookies=True)
        login(viewer, username)
        headers = _bearer(viewer, username)
        user_id = _user_id(app, username)
        for rule in routes:
            before = _rows_for(app, user_id, patient_id)
            response = viewer.get(_url(app, rule, canary.values), headers=headers)
            if not _shows_canary(response, canary.world.patient):
                continue
            shown.add(rule.endpoint)
            assert username != "ivar", f"IT staff saw patient data on {rule.endpoint}"
            if _rows_for(app, user_id, patient_id) <= before:
                unlogged.append(f"{rule.endpoint} as {username}")
    assert unlogged == [], f"shown without an access-log row: {unlogged}"
    assert MUST_SHOW <= shown, f"the walk never saw the canary on {sorted(MUST_SHOW - shown)}"
    unnamed = sorted(e for e in shown if screen_name(e) == e)
    assert unnamed == [], f"screens without a Swedish name for the log's readers (core/privacy/screens.py): {unnamed}"


def _user_id(app: Flask, username: str) -> int:
    from core.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_the_skip_list_names_only_routes_that_exist(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(SKIPPED) <= endpoints
    assert all(reason.strip() for reason in SKIPPED.values())


@pytest.mark.parametrize("endpoint", sorted(MUST_SHOW))
def test_every_must_show_route_is_a_get_route(app: Flask, endpoint: str) -> None:
    assert any(r.endpoint == endpoint and "GET" in r.methods for r in app.url_map.iter_rules())
