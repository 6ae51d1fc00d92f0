"""Drill mode from start to report: the whole routine in a sandbox, production untouched."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from app.auth.roles import Role
from app.extensions import db
from reserve.drill import run_drill
from reserve.models import Drill, ReserveItem
from status.models import Incident
from tests import factories
from tests.conftest import login


def test_a_drill_runs_the_whole_routine_in_a_sandbox_and_reports_each_step(committed_app, tmp_path):
    committed_app.config["RESERVE_DRILL_DIR"] = str(tmp_path / "drills")
    admin = factories.user("chef", roles=(Role.ADMIN,), name="Karin Bengtsson")
    with committed_app.app_context():
        drill = run_drill(db.session.get(type(admin), admin.id))
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
        assert db.session.scalar(select(func.count()).select_from(Drill)) == 1
    client = committed_app.test_client()
    login(client, "chef")
    page = client.get(f"/reserv/ovningar/{drill.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Registrerade ärenden och efterregistrering" in html
    assert "T+4 h 00 min" in html and "Avvisades" in html


def test_the_drill_pages_are_for_the_business_owner(client, ctx):
    factories.user("karin", roles=(Role.ADMIN,))
    factories.user("maria", roles=(Role.CUSTOMER_SERVICE,))
    login(client, "maria")
    assert client.get("/reserv/ovningar").status_code == 403
    login(client, "karin")
    page = client.get("/reserv/ovningar")
    assert page.status_code == 200 and "Starta en övning" in page.get_data(as_text=True)
