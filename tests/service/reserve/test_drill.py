"""Drill mode from start to report: the whole routine in a sandbox, production untouched."""
from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.auth.roles import Role
from core.clock import utcnow
from core.errors import DomainError
from core.extensions import db
from reserve import drill_runs
from app.drills.runner import run_drill
from reserve.models import Drill, ReserveItem
from reserve.rules import DRILL_ABANDONED, DRILL_QUEUED, DRILL_RUNNING, DRILL_SILENCE_LIMIT, drill_state
from status.models import Incident
from tests import factories
from tests.conftest import csrf_token_from, login

STARTED = datetime(2026, 11, 2, 9, 0)
REPORT_WAIT_SECONDS = 60  # a drill takes about ten seconds; a loaded machine may need more


def _assert_whole_routine(drill: Drill) -> None:
    report = json.loads(drill.report)
    assert drill.status == "finished", report["summary"]
    events = {e["what"]: e for e in report["events"]}
    assert all(e["ok"] for e in report["events"]), [e for e in report["events"] if not e["ok"]]
    assert events["Fyra timmar utan prognos: reservrutinen aktiveras"]["sim_time"] == "T+4 h 00 min"
    assert "Avvisades" in events["Beställning per e-post med personnummer"]["result"]
    assert "möjlig dubblett" in events["Samma förskrivning på pappersblankett"]["result"]
    assert "inväntar registrering" in events["Förskrivaren förskriver lokalt under driftstörningen"]["result"]
    assert all(e["real_ms"] >= 0 for e in report["events"])
    steps = {s["step"]: s for s in report["checklist"]}
    activation = steps["Aktivera reservrutin för akuta förskrivningar"]
    assert activation["by"] == "system" and activation["after"] == "T+4 h 00 min"
    assert steps["Anmäl driftstörningen till systemansvarig (SA) på regionala IT-funktionen"]["after"] == "T+4 min"
    registered = [i for i in report["items"] if i["server_id"]]
    assert len(report["items"]) == 5 and len(registered) >= 4  # the flagged duplicate may meet a conflict
    assert {i["kind"] for i in registered} >= {"Lagerflytt", "Beställning", "Arbetsorder"}
    assert "efterregistrerade hos referensservern" in report["summary"]
    # Nothing of it reached the production store.
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0
    assert db.session.scalar(select(func.count()).select_from(ReserveItem)) == 0


def test_a_drill_runs_the_whole_routine_in_a_sandbox_and_reports_each_step(committed_app, tmp_path):
    committed_app.config["RESERVE_DRILL_DIR"] = str(tmp_path / "drills")
    admin = factories.user("chef", roles=(Role.ADMIN,), name="Karin Bengtsson")
    with committed_app.app_context():
        drill = run_drill(db.session.get(type(admin), admin.id))
        _assert_whole_routine(drill)
        assert db.session.scalar(select(func.count()).select_from(Drill)) == 1
    client = committed_app.test_client()
    login(client, "chef")
    page = client.get(f"/reserv/ovningar/{drill.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Registrerade ärenden och efterregistrering" in html
    assert "T+4 h 00 min" in html and "Avvisades" in html and "Refresh" not in page.headers


def _wait_for(app: Flask, drill_id: int, done, seconds: float = REPORT_WAIT_SECONDS) -> Drill:  # noqa: ANN001
    """Poll the store (real time: the drill runs in a real process) until done(drill) holds."""
    deadline = time.monotonic() + seconds
    with app.app_context():
        while True:
            drill = db.session.get(Drill, drill_id, populate_existing=True)
            if done(drill):
                return drill
            db.session.rollback()  # a fresh snapshot next time
            assert time.monotonic() < deadline, f"drill {drill_id} still {drill.status}: {drill.report}"
            time.sleep(0.2)


def test_a_drill_started_on_the_page_runs_in_a_process_of_its_own_until_its_report(committed_app, tmp_path):
    committed_app.config["RESERVE_DRILL_DIR"] = str(tmp_path / "drills")
    factories.user("chef", roles=(Role.ADMIN,), name="Karin Bengtsson")
    client = committed_app.test_client()
    login(client, "chef")
    token = csrf_token_from(client.get("/reserv/ovningar").get_data(as_text=True))
    began = time.monotonic()
    response = client.post("/reserv/ovningar", data={"csrf_token": token})
    assert response.status_code == 302 and time.monotonic() - began < 3  # the drill itself takes seconds
    location = response.headers["Location"]
    drill_id = int(location.rsplit("/", 1)[1])
    page = client.get(location)
    assert page.headers["Refresh"] == "3" and "Övningen körs i en egen process" in page.get_data(as_text=True)
    assert client.post("/reserv/ovningar", data={"csrf_token": token}).status_code == 302  # refused: one at a time
    assert "En övning pågår redan" in client.get("/reserv/ovningar").get_data(as_text=True)
    try:
        drill = _wait_for(committed_app, drill_id, lambda d: d.status != "running")
        with committed_app.app_context():
            _assert_whole_routine(drill)
            assert db.session.scalar(select(func.count()).select_from(Drill)) == 1
    finally:
        assert drill_runs.reap(30) == 0
    assert (tmp_path / "drills" / f"ovning-{drill_id}.log").is_file()
    page = client.get(location)
    html = page.get_data(as_text=True)
    assert "Refresh" not in page.headers and "Klar" in html and "Registrerade ärenden och efterregistrering" in html


def test_a_drill_process_stopped_midway_stores_the_drill_as_failed(committed_app, tmp_path):
    committed_app.config["RESERVE_DRILL_DIR"] = str(tmp_path / "drills")
    admin = factories.user("chef", roles=(Role.ADMIN,))
    with committed_app.app_context():
        drill = drill_runs.queue(db.session.get(type(admin), admin.id), utcnow())
        process = drill_runs.launch(committed_app, drill)
    try:
        _wait_for(committed_app, drill.id, lambda d: d.report is not None)  # claimed: it handles SIGTERM now
        os.kill(process.pid, signal.SIGTERM)
        stopped = _wait_for(committed_app, drill.id, lambda d: d.status != "running", 30)
    finally:
        assert drill_runs.reap(30) == 0
    assert stopped.status == "failed" and stopped.finished_at is not None
    assert "avbröts" in json.loads(stopped.report)["summary"]


@pytest.mark.parametrize(("claimed", "silent_for", "expected"), [
    (False, timedelta(seconds=5), DRILL_QUEUED),
    (True, timedelta(minutes=2), DRILL_RUNNING),
    (True, DRILL_SILENCE_LIMIT + timedelta(seconds=1), DRILL_ABANDONED),
    (False, DRILL_SILENCE_LIMIT + timedelta(seconds=1), DRILL_ABANDONED),  # its process never started
])
def test_a_running_drill_whose_process_fell_silent_is_abandoned(claimed, silent_for, expected):
    assert drill_state(status="running", claimed=claimed, last_sign_of_life=STARTED,
                       now=STARTED + silent_for) == expected
    assert drill_state(status="finished", claimed=True, last_sign_of_life=STARTED,
                       now=STARTED + timedelta(days=1)) == "finished"


def test_a_silent_drill_shows_as_abandoned_and_does_not_block_the_next(client, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "RESERVE_DRILL_DIR", str(tmp_path / "drills"))
    with app.app_context():
        admin = factories.user("karin", roles=(Role.ADMIN,))
        first = drill_runs.queue(admin, STARTED)
        with pytest.raises(DomainError, match="En övning pågår redan"):
            drill_runs.queue(admin, STARTED + timedelta(minutes=1))
        drill_runs.claim(first.id, STARTED)
        drill_runs.record_progress(first.id, "Driftstörningen spelas upp", [], utcnow() - DRILL_SILENCE_LIMIT
                                   - timedelta(minutes=1))
        second = drill_runs.queue(admin, utcnow())  # the first one's process is gone
        assert second.id != first.id
    login(client, "karin")
    page = client.get(f"/reserv/ovningar/{first.id}")
    assert "Avbruten" in page.get_data(as_text=True) and "Refresh" not in page.headers
    listed = client.get("/reserv/ovningar").get_data(as_text=True)
    assert "Avbruten" in listed and "Startar" in listed


def test_the_drill_pages_are_for_the_business_owner(client, ctx):
    factories.user("karin", roles=(Role.ADMIN,))
    factories.user("maria", roles=(Role.CUSTOMER_SERVICE,))
    login(client, "maria")
    assert client.get("/reserv/ovningar").status_code == 403
    token = csrf_token_from(client.get("/reserv/kundservice").get_data(as_text=True))
    assert client.post("/reserv/ovningar", data={"csrf_token": token}).status_code == 403
    login(client, "karin")
    page = client.get("/reserv/ovningar")
    assert page.status_code == 200 and "Starta en övning" in page.get_data(as_text=True)
