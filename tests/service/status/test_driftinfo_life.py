"""Driftinfo that ends: valid until, withdrawn by IT, closed with its incident or the reserve routine,
kept in the archive and in the feed; never an outage notice beneath "Alla system i drift"."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from freezegun import freeze_time

from core.auth.roles import Role
from status import services
from status.models import Driftinfo
from core.extensions import db
from tests import factories
from tests.conftest import api_token, login
from tests.service.status.conftest import FOUR_HOURS_LATER, OUTAGE_START, HealthServer, open_incident
from tests.service.status.test_reserve import it_token, outage  # noqa: F401 - fixtures
from tests.service.status.test_scenarios import RETRY, bearer, probe
from tests.service.status.test_status_page import ATOM, _form_token

TEN_PAST = OUTAGE_START + timedelta(minutes=10)


def _it():
    return factories.user("it", roles=(Role.IT_STAFF,))


def _status(client, at):  # noqa: ANN001, ANN202
    with freeze_time(at):
        return client.get("/status.json").get_json(), client.get("/status").get_data(as_text=True)


def _titles(posts: list[dict]) -> list[str]:
    return [post["title"] for post in posts]


def _current_section(html: str) -> str:
    return html[html.index('id="driftinfo"'):html.index('id="tidigare-driftinfo"')]


def test_a_notice_leaves_the_page_for_the_archive_when_its_valid_until_passes(client, ctx):
    staff = _it()
    services.publish_driftinfo(staff.id, "Planerat underhåll", "I kväll 18–20.", now=OUTAGE_START,
                               valid_until=OUTAGE_START + timedelta(hours=2))
    body, html = _status(client, OUTAGE_START + timedelta(hours=1))
    assert _titles(body["driftinfo"]) == ["Planerat underhåll"] and body["driftinfo_archive"] == []
    assert 'gäller till <span class="nowrap">2026-11-02 12:00 CET</span>' in _current_section(html)  # never wraps
    body, html = _status(client, OUTAGE_START + timedelta(hours=2))
    assert body["driftinfo"] == [] and _titles(body["driftinfo_archive"]) == ["Planerat underhåll"]
    assert body["driftinfo_archive"][0]["ended_at"] == "2026-11-02T12:00:00+01:00"
    assert "Planerat underhåll" not in _current_section(html) and "Tidigare driftinformation" in html


def test_a_valid_until_in_the_past_is_refused_naming_the_field(client, ctx):
    _it()
    response = client.post("/api/v1/driftinfo", headers=bearer(api_token(client, "it")),
                           json={"title": "Rubrik", "body": "Text", "valid_until": "2020-01-01T10:00:00+01:00"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "valid_until"
    assert db.session.query(Driftinfo).count() == 0


def test_it_staff_withdraw_a_notice_with_a_reason_and_the_archive_and_feed_keep_it(client, ctx):
    staff = _it()
    post = services.publish_driftinfo(staff.id, "Kundservice nås på tjänstemobil", "Ring 010-473 80 80.",
                                      now=OUTAGE_START)
    with freeze_time(TEN_PAST):
        login(client, "it")
        desk = client.get("/status/hantera").get_data(as_text=True)
        assert "Kundservice nås på tjänstemobil" in desk[desk.index("Aktuell driftinfo"):]
        token = re.search(r'name="withdraw-csrf_token" value="([^"]+)"', desk).group(1)
        empty = client.post(f"/status/hantera/driftinfo/{post.id}/aterkalla",
                            data={"withdraw-csrf_token": token, "withdraw-reason": ""})
        assert empty.status_code == 400 and "Ange skälet." in empty.get_data(as_text=True)
        assert db.session.get(Driftinfo, post.id, populate_existing=True).withdrawn_at is None
        done = client.post(f"/status/hantera/driftinfo/{post.id}/aterkalla",
                           data={"withdraw-csrf_token": token, "withdraw-reason": "Växeln fungerar igen."})
        assert done.status_code == 302
    body, html = _status(client, TEN_PAST + timedelta(minutes=1))
    assert body["driftinfo"] == []
    (archived,) = body["driftinfo_archive"]
    assert archived["withdrawal_reason"] == "Växeln fungerar igen."
    assert archived["ended_at"] == "2026-11-02T10:10:00+01:00"
    assert "upphörde" in html and "Växeln fungerar igen." in html
    with freeze_time(TEN_PAST + timedelta(minutes=1)):
        feed = ET.fromstring(client.get("/status/feed.atom").data)
    entry = feed.find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == "Driftinfo (upphört): Kundservice nås på tjänstemobil"
    assert entry.find(f"{ATOM}content").text.startswith("Upphört 2026-11-02 10:10 CET: Växeln fungerar igen.")
    assert entry.find(f"{ATOM}updated").text == "2026-11-02T10:10:00+01:00"


def test_withdrawal_over_the_api_is_once_needs_a_clean_reason_and_is_for_it_staff_only(client, ctx):
    staff = _it()
    factories.user("karin", roles=(Role.PRESCRIBER,))
    post = services.publish_driftinfo(staff.id, "Rubrik", "Text", now=OUTAGE_START)
    path = f"/api/v1/driftinfo/{post.id}/withdraw"
    token = api_token(client, "it")
    assert client.post(path, headers=bearer(api_token(client, "karin")), json={"reason": "x"}).status_code == 403
    refused = client.post(path, headers=bearer(token), json={"reason": "Gäller 191212121212"})
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "reason"
    assert client.post(path, headers=bearer(token), json={"reason": "Inaktuell."}).status_code == 200
    again = client.post(path, headers=bearer(token), json={"reason": "Inaktuell."})
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "driftinfo_id"
    assert client.post("/api/v1/driftinfo/999999/withdraw", headers=bearer(token),
                       json={"reason": "x"}).status_code == 404


def test_ending_the_reserve_routine_lists_open_notices_preselected_and_closes_those_left_checked(
        client, outage, servers):  # noqa: F811
    staff = _it()
    services.run_reserve_check(FOUR_HOURS_LATER)
    first = services.publish_driftinfo(staff.id, "Reservrutin gäller", "Ring Kundservice.", now=FOUR_HOURS_LATER)
    kept = services.publish_driftinfo(staff.id, "Efterregistrering pågår", "Det tar en stund.",
                                      now=FOUR_HOURS_LATER + timedelta(minutes=1))
    later = FOUR_HOURS_LATER + timedelta(minutes=30)
    with freeze_time(later):
        login(client, "it")
        desk = client.get("/status/hantera").get_data(as_text=True)
        boxes = re.findall(r'<input[^>]*name="deactivate-close_driftinfo"[^>]*>', desk)
        assert len(boxes) == 2 and all("checked" in box for box in boxes)
        form = {"deactivate-csrf_token": _form_token(desk, "deactivate"), "deactivate-reason": "Återgång klar.",
                "deactivate-close_driftinfo": [str(first.id)]}  # IT unticked the second one
        question = client.post("/status/hantera/reservrutin/avsluta", data=form)
        page = question.get_data(as_text=True)
        assert question.status_code == 200 and "Avsluta reservrutinen?" in page and "1 driftinfo avslutas" in page
        assert services.current_reserve_state().active  # asking changed nothing
        carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
        assert carried["deactivate-reason"] == "Återgång klar." and carried["bekraftat"] == "ja"
        response = client.post("/status/hantera/reservrutin/avsluta", data={**form, "bekraftat": "ja"})
        assert response.status_code == 302
    body, _ = _status(client, later + timedelta(minutes=1))
    assert _titles(body["driftinfo"]) == ["Efterregistrering pågår"]
    assert _titles(body["driftinfo_archive"]) == ["Reservrutin gäller"]
    assert body["driftinfo_archive"][0]["withdrawal_reason"] == "Reservrutinen har upphört: Återgång klar."
    assert db.session.get(Driftinfo, kept.id).withdrawn_at is None


def test_resolving_an_incident_by_hand_closes_the_notices_checked(client, ctx, servers):
    staff = _it()
    other = services.publish_driftinfo(staff.id, "Annat", "Text.", now=OUTAGE_START)  # about no incident
    incident = services.set_telephony(staff.id, True, "Telefonin är störd.", now=OUTAGE_START)
    notice = services.publish_driftinfo(staff.id, "Ring inte", "Använd e-post.", now=TEN_PAST)
    with freeze_time(TEN_PAST + timedelta(minutes=5)):
        login(client, "it")
        desk = client.get("/status/hantera").get_data(as_text=True)
        response = client.post("/status/hantera/uppdatering", data={
            "incident_update-csrf_token": _form_token(desk, "incident_update"),
            "incident_update-incident_id": str(incident.id), "incident_update-status": "resolved",
            "incident_update-message": "Telefonin fungerar.",
            "incident_update-close_driftinfo": [str(notice.id), str(other.id)]})
        assert response.status_code == 302
    body, _ = _status(client, TEN_PAST + timedelta(minutes=6))
    assert body["driftinfo"] == [] and sorted(_titles(body["driftinfo_archive"])) == ["Annat", "Ring inte"]
    assert db.session.get(Driftinfo, other.id, populate_existing=True).withdrawal_reason == "Händelsen är löst."
    assert db.session.get(Driftinfo, notice.id).incident_id == incident.id  # published during it: about it


def test_the_page_never_shows_an_outage_notice_beneath_an_all_clear(client, outage, servers):  # noqa: F811
    main, _ = servers
    staff = _it()
    services.publish_driftinfo(staff.id, "Huvudsystemet går inte att nå", "Vi felsöker.", now=TEN_PAST)
    body, html = _status(client, TEN_PAST)
    assert body["overall"]["state"] == "outage" and _titles(body["driftinfo"]) == ["Huvudsystemet går inte att nå"]
    back = HealthServer(port=main.port).start()  # the monitor sees it back and resolves the outage itself
    try:
        done = OUTAGE_START + timedelta(hours=1)
        probe(done)
        probe(done + RETRY)
    finally:
        back.stop()
    assert open_incident() is None
    body, html = _status(client, done + timedelta(minutes=1))
    assert body["overall"]["text"] == "Alla system i drift"
    assert body["driftinfo"] == [] and _titles(body["driftinfo_archive"]) == ["Huvudsystemet går inte att nå"]
    assert "Alla system i drift" in html and "Huvudsystemet går inte att nå" not in _current_section(html)
