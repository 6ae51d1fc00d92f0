"""The pull side: the changes feed refreshes articles, patients and withdrawal statuses, incrementally."""
from __future__ import annotations

from decimal import Decimal

import requests
from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from core.models import Article, Patient
from sync import pull
from sync.signals import withdrawal_status_pulled
from sync.models import PullState, WithdrawalStatus
from tests import factories
from tests.service.sync.conftest import payload_for, random_key, settings_for


def master(server, articles=(), patients=()):  # noqa: ANN001, ANN201
    return server.admin("POST", "/admin/master", {"articles": list(articles), "patients": list(patients)})


def article(number: str, **changes) -> dict:
    return {"number": number, "name": f"Skydd {number}", "package_size": 30, "unit_price": "129.00",
            "product_area": "inkontinens", "supplier": "Nordvård AB", "supplier_article_number": f"NV-{number}",
            "product_group": "Skydd", "subgroup": "Inlägg", "is_active": True, **changes}


def test_articles_are_added_and_changed_and_data_as_of_is_the_last_complete_pull(sync_app, main_server):
    with sync_app.app_context():
        known = factories.article(number="700001", name="Gammalt namn")
        master(main_server, [article("700001", name="Nytt namn", unit_price="99.50"), article("700002")])
        assert pull.data_as_of() is None
        report = pull.pull_once(settings=settings_for(sync_app))
        assert (report.articles, report.caught_up, report.error) == (2, True, None)
        names = dict(db.session.execute(select(Article.number, Article.name)).all())
        assert names["700001"] == "Nytt namn" and names["700002"] == "Skydd 700002"
        assert db.session.get(Article, known.id).unit_price == Decimal("99.50")
        assert pull.data_as_of() is not None
        again = pull.pull_once(settings=settings_for(sync_app))
        assert (again.articles, again.pages) == (0, 1)  # nothing new since the cursor
        db.session.remove()


def test_patients_already_here_are_refreshed_others_are_not_imported(sync_app, main_server):
    with sync_app.app_context():
        here = factories.patient(first_name="Karin", registered_street="Storgatan 1")
        master(main_server, patients=[
            {"personnummer": here.personnummer, "first_name": "Karin", "last_name": here.last_name,
             "registered_street": "Nygatan 9", "registered_postal_code": "222 22", "registered_city": "Lund"},
            {"personnummer": "194001011234", "first_name": "Okänd", "last_name": "Person"}])
        report = pull.pull_once(settings=settings_for(sync_app))
        assert (report.patients, report.skipped) == (1, 1)
        patient = db.session.get(Patient, here.id, populate_existing=True)
        assert patient.registered_street == "Nygatan 9"
        assert db.session.scalar(select(Patient).where(Patient.personnummer == "194001011234")) is None
        db.session.remove()


def test_withdrawal_statuses_arrive_and_an_applier_sees_each_once(sync_app, main_server):
    seen: list = []

    def applier(u_number, status, changed_at):  # noqa: ANN001, ANN202
        seen.append((u_number, status))

    with withdrawal_status_pulled.connected_to(applier):
        requests.post(main_server.url + "/api/v1/batch", timeout=5, json={"site": "s", "items": [
            {"key": random_key(), "kind": "prescription", "payload": payload_for("prescription", 5)},
            {"key": random_key(), "kind": "withdrawal", "payload": payload_for("withdrawal", 5)}]})
        u_number = payload_for("withdrawal", 5)["u_number"]
        with sync_app.app_context():
            pull.pull_once(settings=settings_for(sync_app))
            main_server.admin("POST", f"/admin/withdrawals/{u_number}", {"status": "delivered"})
            pull.pull_once(settings=settings_for(sync_app))
            pull.pull_once(settings=settings_for(sync_app))
            assert db.session.get(WithdrawalStatus, u_number).status == "delivered"
            db.session.remove()
        assert seen == [(u_number, "sent"), (u_number, "delivered")]


def test_a_long_feed_is_read_page_by_page_and_an_unreachable_server_is_noted(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_PULL_PAGE_SIZE", 10)
    master(main_server, [article(f"8{n:05d}") for n in range(35)])
    with sync_app.app_context():
        report = pull.pull_once(settings=settings_for(sync_app))
        assert (report.pages, report.articles) == (4, 35)
        state = db.session.get(PullState, "main")
        assert state.articles == 35 and state.cursor is not None
        main_server.stop()
        failed = pull.pull_once(settings=settings_for(sync_app))
        assert failed.error and db.session.get(PullState, "main", populate_existing=True).last_error
        db.session.remove()


def test_the_scheduled_pull_waits_for_its_interval(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_PULL_SECONDS", 3600)
    with sync_app.app_context():
        assert pull.pull_if_due(utcnow()) is not None
        assert pull.pull_if_due(utcnow()) is None
        db.session.remove()
    result = sync_app.test_cli_runner().invoke(args=["sync", "pull"])
    assert result.exit_code == 0 and "sidor" in result.output
