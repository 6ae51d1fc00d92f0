"""Reserve routine test kit: named actors, named instants, an outage driven through the real
monitor with a fake prober, and a client whose requests never share `g`."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from core.auth.roles import Role
from core.extensions import db
from status import services
from status.models import Incident, Notification
from status.probes import ProbeOutcome
from tests import factories
from tests.instants import CONFIRMED, FOUR_HOURS_LATER, LAST_GOOD_PROBE, OUTAGE_START  # noqa: F401 - re-exported to the tests here
from tests.service.status.conftest import RECIPIENTS, free_port


class FakeProber:
    """Answers the monitor's probes: the main server and the regional reference target, up or down."""

    def __init__(self, app: Flask) -> None:
        self.main_url = app.config["MAIN_SERVER_URL"].rstrip("/")
        self.main_up = True
        self.reference_up = True

    def __call__(self, url: str, healthy, timeout) -> ProbeOutcome:  # noqa: ANN001
        up = self.main_up if url.startswith(self.main_url) else self.reference_up
        return ProbeOutcome(up, 3, "HTTP 200" if up else "connection refused")



@pytest.fixture(autouse=True)
def _reserve_config(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    monkeypatch.setitem(app.config, "STATUS_PAGE_CACHE_SECONDS", 0)
    monkeypatch.setitem(app.config, "STATUS_ESCALATION_RECIPIENTS", dict(RECIPIENTS))
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens: no stray mail
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 1.0)
    monkeypatch.setitem(app.config, "SYNC_REVIEW", {"prescription": ["hms_staff"], "order": ["hms_staff"],
                                                    "stock_move": ["hms_staff"], "work_order": ["hms_staff"]})


@pytest.fixture
def prober(app: Flask) -> FakeProber:
    return FakeProber(app)


def probe(prober: FakeProber, at: datetime) -> None:
    services.run_probe_cycle(at, prober=prober)


def start_outage(prober: FakeProber, *, reference_down: bool = False) -> Incident:
    """The main server answers at LAST_GOOD_PROBE, then fails from OUTAGE_START; confirmed 40 s later."""
    probe(prober, LAST_GOOD_PROBE)
    prober.main_up = False
    prober.reference_up = not reference_down
    for seconds in (0, 20, 40):
        probe(prober, OUTAGE_START + timedelta(seconds=seconds))
    return open_outage()


def open_outage() -> Incident:
    return db.session.scalar(select(Incident).where(Incident.open_track == "outage")
                             .execution_options(populate_existing=True))


def mark_escalations_sent(incident_id: int, at: datetime) -> None:
    """What the monitor's notify job records once the mails are out."""
    db.session.execute(update(Notification).where(Notification.incident_id == incident_id,
                                                  Notification.sent_at.is_(None))
                       .values(sent_at=at).execution_options(synchronize_session=False))
    db.session.commit()


@pytest.fixture
def outage(ctx, prober) -> Incident:
    """A confirmed main-server outage whose first failed probe was OUTAGE_START."""
    return start_outage(prober)


@pytest.fixture
def reserve_active(outage) -> Incident:
    """The outage, four hours on without a prognosis: the reserve routine applies."""
    assert services.run_reserve_check(FOUR_HOURS_LATER) == [outage.id]
    return open_outage()


@pytest.fixture
def world(ctx) -> dict:
    """The demo-like cast: units with payers and a municipal stock, articles, a patient, and one actor per role."""
    areas = factories.all_product_areas()  # noqa: F841 - every area exists
    care = factories.unit(name="Vårdcentralen Norra Fäladen", payer_areas=("inkontinens", "nutrition"),
                          customer_number="410215")
    municipal = factories.unit(name="Hemsjukvården Lund", payer_areas=("inkontinens",), customer_number="420107")
    factories.warehouse(10, "central", "HMS centrallager")
    stock = factories.warehouse(105, "municipal", "Kommunlager Lund hemsjukvård")
    stock.unit_id = municipal.id
    db.session.commit()
    diaper = factories.article("inkontinens", number="200101", name="Inkontinensskydd natt")
    drink = factories.article("nutrition", number="300202", name="Näringsdryck jordgubb")
    stoma = factories.article("stomi", number="400303", name="Stomipåse")
    patient = factories.patient(personnummer=factories.make_personnummer(1941, 3, 14))
    prescriber = factories.user("anna", roles=(Role.PRESCRIBER,), areas=("inkontinens", "nutrition"),
                                units=(care, municipal), name="Anna Lindström", hsa_id="SE2321000255-F7K2")
    return {
        "care": care, "municipal": municipal, "diaper": diaper, "drink": drink, "stoma": stoma, "patient": patient,
        "prescriber": prescriber,
        "agent": factories.user("maria", roles=(Role.CUSTOMER_SERVICE,), name="Maria Persson"),
        "hms": factories.user("johan", roles=(Role.HMS_STAFF,), name="Johan Nilsson"),
        "it": factories.user("sara", roles=(Role.IT_STAFF,), name="Sara Håkansson"),
        "admin": factories.user("karin", roles=(Role.ADMIN,), name="Karin Bengtsson"),
        "technician": factories.user("erik", roles=(Role.TECHNICIAN,), name="Erik Svensson"),
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def agent_token(client, world) -> Iterator[str]:
    from tests.conftest import api_token

    yield api_token(client, "maria")
