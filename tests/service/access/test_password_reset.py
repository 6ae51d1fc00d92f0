"""Glömt ditt lösenord?: the same answer whether or not the account exists; single-use, expiring links."""
from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import select

from app.access import password_reset
from app.access.models import AccessToken
from core.extensions import db
from core.models import ApiToken
from tests.conftest import api_token, csrf_token_from, login

LINK = re.compile(r"https://portal\.example(/losenord\?t=(\S+))")
REQUESTED = datetime(2026, 11, 2, 9, 0)
NEW_PASSWORD = "Vintersol 2026 morgon"
CSRF_VALUE = re.compile(r'name="csrf_token" type="hidden" value="[^"]+"')


def ask(client, identifier: str):
    token = csrf_token_from(client.get("/glomt-losenord").get_data(as_text=True))
    return client.post("/glomt-losenord", data={"csrf_token": token, "identifier": identifier},
                       follow_redirects=True)


def choose(client, path: str, password: str = NEW_PASSWORD, repeated: str | None = None):
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), "password": password,
                                   "repeated": password if repeated is None else repeated})


def test_the_answer_is_the_same_for_a_known_user_an_e_mail_and_nobody(client, world, smtp):
    answers = [ask(client, who) for who in ("anna", "ANNA@region.example", "finnsinte", "nobody@region.example")]
    assert {a.status_code for a in answers} == {200}
    texts = {CSRF_VALUE.sub("", a.get_data(as_text=True).split("<main")[1]) for a in answers}
    assert len(texts) == 1 and "Om uppgifterna hör till ett aktivt konto" in texts.pop()
    assert [r for rcpt, _ in smtp.messages for r in rcpt] == ["anna@region.example", "anna@region.example"]
    mail = smtp.to("anna@region.example")[0]
    assert mail["Subject"] == "Återställ ditt lösenord i Förskrivningsportalen"
    assert "anna" in mail.get_content() and "Anna" not in mail["Subject"]


def test_the_answer_takes_the_same_minimum_time_either_way(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "ACCESS_RESET_MIN_RESPONSE_SECONDS", 0.3)
    for who in ("anna", "finnsinte"):
        started = time.monotonic()
        ask(client, who)
        assert time.monotonic() - started >= 0.3


def test_the_link_lets_the_user_choose_a_password_once(client, world, smtp):
    ask(client, "anna")
    path, token = LINK.search(smtp.to("anna@region.example")[0].get_content()).groups()
    stored = db.session.scalar(select(AccessToken.token_hash))
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored

    page = client.get(path).get_data(as_text=True)
    assert page.count('autocomplete="new-password"') == 2
    response = choose(client, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert login(client, "anna", NEW_PASSWORD).status_code == 302
    again = client.get(path)
    assert again.status_code == 410 and "Länken är ogiltig" in again.get_data(as_text=True)


def test_the_link_expires_after_an_hour(client, world, smtp):
    with freeze_time(REQUESTED):
        password_reset.request_password_reset("anna")
        db.session.commit()
    path = LINK.search(smtp.to("anna@region.example")[0].get_content()).group(1)
    with freeze_time(REQUESTED + timedelta(minutes=59)):
        assert client.get(path).status_code == 200
    with freeze_time(REQUESTED + timedelta(minutes=61)):
        assert client.get(path).status_code == 410
        assert choose(client, path).status_code == 410
    assert login(client, "anna", NEW_PASSWORD).status_code == 401


def test_the_password_policy_and_repetition_are_enforced_and_the_link_survives_a_mistake(client, world, smtp):
    ask(client, "anna")
    path = LINK.search(smtp.to("anna@region.example")[0].get_content()).group(1)
    short = choose(client, path, "kort1")
    assert short.status_code == 422 and "minst 12 tecken" in short.get_data(as_text=True)
    with_name = choose(client, path, "anna12345678x")
    assert with_name.status_code == 422 and "användarnamnet" in with_name.get_data(as_text=True)
    mismatch = choose(client, path, NEW_PASSWORD, "Vintersol 2026 kväll")
    assert mismatch.status_code == 422 and "Lösenorden är inte lika." in mismatch.get_data(as_text=True)
    assert choose(client, path).status_code == 302


def test_an_inactive_account_gets_no_mail_and_its_open_link_stops_working(client, world, smtp):
    ask(client, "anna")
    path = LINK.search(smtp.to("anna@region.example")[0].get_content()).group(1)
    world["anna"].active = False
    db.session.commit()
    assert client.get(path).status_code == 410
    ask(client, "anna")
    assert len(smtp.to("anna@region.example")) == 1


def test_at_most_three_mails_an_hour_per_account(client, world, smtp):
    with freeze_time(REQUESTED, tick=True):
        for _ in range(5):
            ask(client, "anna")
    assert len(smtp.to("anna@region.example")) == 3
    with freeze_time(REQUESTED + timedelta(minutes=61)):
        ask(client, "anna")
    assert len(smtp.to("anna@region.example")) == 4


def test_a_new_password_revokes_api_tokens_and_other_open_links(client, world, smtp):
    token = api_token(client, "anna")
    ask(client, "anna")
    ask(client, "anna")
    first, second = (LINK.search(m.get_content()).group(1) for m in smtp.to("anna@region.example"))
    assert choose(client, second).status_code == 302
    assert client.get(first).status_code == 410
    assert db.session.scalars(select(ApiToken).where(ApiToken.user_id == world["anna"].id)).all() == []
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_made_up_link_is_refused(client, world):
    assert client.get("/losenord?t=gissad-token").status_code == 410
    assert client.get("/losenord").status_code == 410
    assert client.get("/behorighet/komplettera?t=gissad-token").status_code == 410
    assert client.get("/losenord?t=" + "x" * 500).status_code == 410
