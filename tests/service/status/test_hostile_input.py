"""Hostile input through every door of the public status texts: refused naming the field; the feed stays XML."""
from __future__ import annotations

import json
import xml.dom.minidom
import xml.etree.ElementTree as ET

import pytest

from core.auth.roles import Role
from tests import factories
from tests.conftest import api_token, csrf_token_from, login
from tests.service.status.test_scenarios import bearer
from tests.service.status.test_status_page import outage_at_noon  # noqa: F401 - fixture

CONTROL = ["\x00", "\x08", "\x0b", "\x1b[31m", "\x7f", "\x85"]
PERSONAL = ["Gäller 19520118 2911", "Gäller 520118 2911", "Gäller 1952.01.18-2911", "Gäller 520118–2911",
            "Till Svea Samuelsson, rullator", "Hämtas på Kungsgatan 15 i dag"]


@pytest.fixture()
def svea(ctx):
    return factories.patient(personnummer="195201182911", first_name="Svea", last_name="Samuelsson",
                             registered_street="Kungsgatan 15")


def api_doors(incident_id: int, text: str) -> list[tuple[str, dict, str]]:
    return [
        ("/api/v1/driftinfo", {"title": "Driftinfo", "body": text}, "body"),
        ("/api/v1/driftinfo", {"title": text, "body": "Text"}, "title"),
        (f"/api/v1/incidents/{incident_id}/prognosis",
         {"text": text, "expected_restoration_at": "2030-01-01T10:00:00+01:00"}, "text"),
        (f"/api/v1/incidents/{incident_id}/updates", {"status": "identified", "message": text}, "message"),
    ]


def form_doors(incident_id: int, text: str) -> list[tuple[str, dict, str]]:
    return [
        ("/status/hantera/driftinfo", {"driftinfo-title": "Driftinfo", "driftinfo-body": text}, "body"),
        ("/status/hantera/driftinfo", {"driftinfo-title": text, "driftinfo-body": "Text"}, "title"),
        ("/status/hantera/prognos", {"prognosis-incident_id": incident_id, "prognosis-text": text,
                                     "prognosis-expected_restoration_at": "2030-01-01T10:00"}, "text"),
        ("/status/hantera/uppdatering", {"incident_update-incident_id": incident_id,
                                         "incident_update-status": "identified", "incident_update-message": text},
         "message"),
    ]


def assert_feed_is_xml(client) -> ET.Element:  # noqa: ANN001
    data = client.get("/status/feed.atom").data
    xml.dom.minidom.parseString(data)
    return ET.fromstring(data)


def test_control_characters_and_personal_data_are_refused_at_the_api_naming_the_field(
        client, outage_at_noon, svea):  # noqa: F811
    factories.user("it", roles=(Role.IT_STAFF,))
    token = api_token(client, "it")
    for text in [f"Fel{c}text" for c in CONTROL] + PERSONAL + ["Rubrik\nmed radbrytning"]:
        for path, payload, field in api_doors(outage_at_noon.id, text):
            if field != "title" and "\n" in text:
                continue  # multi-line fields may hold a newline
            response = client.post(path, headers=bearer(token), json=payload)
            assert response.status_code == 422, (path, text)
            error = response.get_json()["error"]
            assert error["field"] == field, (path, text, error)
    # A lone surrogate can only come as a JSON escape.
    raw = json.dumps({"title": "Driftinfo", "body": "x"}).replace('"x"', '"\\ud800"')
    response = client.post("/api/v1/driftinfo", headers={**bearer(token), "Content-Type": "application/json"},
                           data=raw)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "body"
    feed = assert_feed_is_xml(client)
    assert all("Driftinfo" not in (e.findtext("{http://www.w3.org/2005/Atom}title") or "")
               for e in feed.iter("{http://www.w3.org/2005/Atom}entry"))


def test_control_characters_and_personal_data_are_refused_in_it_staffs_forms(client, outage_at_noon, svea):  # noqa: F811
    factories.user("it", roles=(Role.IT_STAFF,))
    login(client, "it")
    token = csrf_token_from(client.get("/status/hantera").get_data(as_text=True))
    for text in [f"Fel{c}text" for c in CONTROL] + PERSONAL:
        for path, data, field in form_doors(outage_at_noon.id, text):
            prefix = next(iter(data)).split("-")[0]
            response = client.post(path, data={**data, f"{prefix}-csrf_token": token, "csrf_token": token})
            assert response.status_code in (400, 422), (path, text)
            page = response.get_data(as_text=True)
            assert "styrtecken" in page or "Texten innehåller" in page, (path, text)
    assert_feed_is_xml(client)


def test_the_feed_is_xml_and_carries_what_was_allowed_after_hostile_attempts(client, outage_at_noon, svea):  # noqa: F811
    factories.user("it", roles=(Role.IT_STAFF,))
    token = api_token(client, "it")
    client.post("/api/v1/driftinfo", headers=bearer(token), json={"title": "Ond\x0c", "body": "x\x00"})
    client.post("/status/prenumerera", data={"email": "a\x00@example.se"})
    ok = client.post("/api/v1/driftinfo", headers=bearer(token),
                     json={"title": "Kundservice nås på 010-473 80 80", "body": "Order 123456 och\tartikel 200101\nklar."})
    assert ok.status_code == 201
    feed = assert_feed_is_xml(client)
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in feed.iter("{http://www.w3.org/2005/Atom}entry")]
    assert "Driftinfo: Kundservice nås på 010-473 80 80" in titles


def test_the_public_subscription_refuses_control_characters_and_a_personnummer(client, ctx):
    token = csrf_token_from(client.get("/status").get_data(as_text=True))
    for email in ("svea\x00@example.se", "520118-2911@example.se"):
        response = client.post("/status/prenumerera", data={"email": email, "csrf_token": token})
        assert response.status_code == 400, email
        assert "styrtecken" in response.get_data(as_text=True) or "personuppgifter" in response.get_data(as_text=True)
