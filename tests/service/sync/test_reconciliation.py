"""Reconciliation per incident: captured = registered + resolved + cancelled, every difference listed."""
from __future__ import annotations

from datetime import timedelta

import requests

from core.clock import utcnow
from core.extensions import db
from core.store import begin_write
from status import incidents
from status.scenarios import Scenario
from status.settings import current_settings
from sync import conflicts, outbox, reconciliation, reconciliation_export, review
from sync.client import HttpMainServer
from tests.service.sync.conftest import drain, payload_for, reload, settings_for


def test_an_outage_balances_after_registration_resolution_and_cancellation(sync_app, main_server, committed_world):
    requests.post(main_server.url + "/api/v1/batch", timeout=5, json={"site": "other", "items": [
        {"key": "phoned-in", "kind": "prescription", "payload": payload_for("prescription", 2)}]})
    with sync_app.app_context():
        world = reload(committed_world)
        begin_write()
        incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow() - timedelta(hours=5), utcnow(),
                                           current_settings())
        db.session.commit()
        incident_id = incident.id
        begin_write()
        captured = [outbox.enqueue(kind, payload_for(kind, n), requires_review=True, channel="phone",
                                   created_by_id=world["kim"].id)
                    for n, kind in enumerate(["stock_move", "order", "prescription", "work_order", "order"])]
        db.session.commit()
        keys = [c.key for c in captured]
        for key in keys[:4]:
            review.approve(world["hanna"], key)
        review.cancel(world["hanna"], keys[4], "Dubblett av telefonsamtal")
        db.session.remove()
    drain(sync_app)
    with sync_app.app_context():
        report = reconciliation.build(incident_id)
        assert (report.balance.captured, report.balance.registered, report.balance.outstanding) == (5, 3, 1)
        assert not report.balance.balanced
        (difference,) = report.differences
        assert difference.key == keys[2] and difference.difference == "Konflikt"
        conflicts.resolve(reload(committed_world)["hanna"], keys[2], "link", "Samma som telefonbeställningen")
        report = reconciliation.build(incident_id)
        b = report.balance
        assert (b.captured, b.registered, b.resolved, b.cancelled, b.balanced) == (5, 3, 1, 1, True)
        line = next(line for line in report.lines if line.key == keys[0])
        assert (line.captured_by, line.approved_by, line.channel_label) == ("Kim Kundservice", "Hanna Hjälpmedel",
                                                                            "Telefon")
        assert line.server_id in main_server.created().values()
        with HttpMainServer(settings_for(sync_app)) as client:
            assert reconciliation.build(incident_id, server=client).balance.balanced
        text = reconciliation_export.to_text(report)
        assert "5 = 3 + 1 + 1 – balanserar" in text
        db.session.remove()


def test_a_registration_the_main_server_does_not_know_shows_as_a_difference(sync_app, main_server):
    with sync_app.app_context():
        begin_write()
        incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow(), utcnow(), current_settings())
        db.session.commit()
        incident_id = incident.id
        begin_write()
        item = outbox.enqueue("order", payload_for("order", 1))
        db.session.commit()
        begin_write()
        db.session.execute(item.__table__.update().values(state="acked", server_id="B12345678",
                                                          registered_at=utcnow()))
        db.session.commit()
        assert reconciliation.build(incident_id).balance.balanced
        with HttpMainServer(settings_for(sync_app)) as client:
            checked = reconciliation.build(incident_id, server=client)
        assert checked.verified and not checked.balance.balanced
        assert checked.differences[0].difference == "huvudservern känner inte till posten"
        main_server.stop()
        with HttpMainServer(settings_for(sync_app)) as client:
            unreachable = reconciliation.build(incident_id, server=client)
        assert not unreachable.verified and unreachable.verify_error
        db.session.remove()


def test_the_command_line_report_exits_2_while_it_does_not_balance(sync_app, main_server):
    with sync_app.app_context():
        begin_write()
        incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow(), utcnow(), current_settings())
        db.session.commit()
        begin_write()
        outbox.enqueue("order", payload_for("order", 1))
        db.session.commit()
        incident_id = incident.id
        db.session.remove()
    runner = sync_app.test_cli_runner()
    before = runner.invoke(args=["sync", "report", "--incident", str(incident_id)])
    assert before.exit_code == 2 and "BALANSERAR INTE" in before.output
    drain(sync_app)
    after = runner.invoke(args=["sync", "report", "--incident", str(incident_id), "--format", "csv"])
    assert after.exit_code == 0 and "Registrerad" in after.output
