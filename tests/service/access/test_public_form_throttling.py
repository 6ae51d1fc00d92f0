"""The public forms that send e-mail are throttled per client address and per target address, in the store."""
from __future__ import annotations

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import create_app
from app.access.models import AccessApplication
from core.config import TestConfig
from core.extensions import db
from core.models import LoginFailure
from core.web.throttle import over_limit, subject
from tests.client import FreshClient
from tests.conftest import csrf_token_from
from tests.service.access.test_applications import NEW_PRESCRIBER, post_form

REFUSED = "För många förfrågningar"


@pytest.fixture
def limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MAX_PER_ADDRESS", 3)
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MAX_PER_TARGET", 2)
    monkeypatch.setitem(app.config, "PUBLIC_FORM_WINDOW_SECONDS", 3600)


def subscribe(client, email: str):
    token = csrf_token_from(client.get("/status").get_data(as_text=True))
    return client.post("/status/prenumerera", data={"csrf_token": token, "email": email})


def forgot(client, identifier: str, address: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = csrf_token_from(client.get("/glomt-losenord", environ_base=environ).get_data(as_text=True))
    return client.post("/glomt-losenord", data={"csrf_token": token, "identifier": identifier}, environ_base=environ)


def test_the_limit_rule_counts_the_address_and_every_target():
    assert not over_limit(2, [1, 1], per_address=3, per_target=2)
    assert over_limit(3, [0], per_address=3, per_target=2)
    assert over_limit(0, [0, 2], per_address=3, per_target=2)


def test_status_subscription_over_the_limit_per_e_mail_is_429_in_swedish_and_sends_nothing(client, smtp, limits):
    for _ in range(2):
        assert subscribe(client, "ola@example.se").status_code == 302
    sent = len(smtp.messages)
    refused = subscribe(client, "OLA@example.se ")
    assert refused.status_code == 429
    assert REFUSED in refused.get_data(as_text=True)
    assert len(smtp.messages) == sent
    assert subscribe(client, "annan@example.se").status_code == 302  # another target is still served


def test_status_subscription_over_the_limit_per_address(client, smtp, limits):
    for n in range(3):
        assert subscribe(client, f"person{n}@example.se").status_code == 302
    sent = len(smtp.messages)
    assert subscribe(client, "person9@example.se").status_code == 429
    assert len(smtp.messages) == sent


def test_forgotten_password_over_the_limit_is_429_and_sends_no_mail(client, world, smtp, limits):
    for _ in range(2):
        assert forgot(client, "anna").status_code == 302
    assert forgot(client, "anna").status_code == 429
    assert len(smtp.to("anna@region.example")) == 2
    # From another address the same account is still refused: the target's limit holds across addresses.
    assert forgot(client, "anna", address="10.0.0.7").status_code == 429
    assert len(smtp.to("anna@region.example")) == 2


def test_access_applications_over_the_limit_are_429_and_nothing_is_saved_or_sent(client, world, smtp, limits):
    for n in range(2):
        assert post_form(client, "/behorighet/ny", {**NEW_PRESCRIBER, "hsa_id": f"SE2321000255-N{n}"}).status_code == 302
    saved, sent = db.session.scalar(select(func.count()).select_from(AccessApplication)), len(smtp.messages)
    refused = post_form(client, "/behorighet/ny", {**NEW_PRESCRIBER, "hsa_id": "SE2321000255-N9"})
    assert refused.status_code == 429
    assert REFUSED in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AccessApplication)) == saved
    assert len(smtp.messages) == sent


def test_no_e_mail_address_is_stored_in_the_clear(app, client, smtp, limits):
    subscribe(client, "ola@example.se")
    with app.app_context():
        stored = db.session.scalars(select(LoginFailure.username)).all()
    assert subject("status", "ola@example.se") in stored
    assert not any("ola" in value for value in stored)


def test_two_web_nodes_share_the_limit(committed_app: Flask, tmp_path):
    """Two applications on the same store, as two gunicorn workers or two nodes, count together."""

    class Second(TestConfig):
        SQLALCHEMY_DATABASE_URI = committed_app.config["SQLALCHEMY_DATABASE_URI"]

    second = create_app(Second)
    second.instance_path = str(tmp_path / "second")
    with second.app_context():
        upgrade()  # already at head: a no-op that proves both see the same schema
    nodes = [committed_app, second]
    for node in nodes:
        node.config.update(PUBLIC_FORM_MAX_PER_ADDRESS=3, PUBLIC_FORM_MAX_PER_TARGET=2, MAIL_PORT=1,
                           ACCESS_RESET_MIN_RESPONSE_SECONDS=0)
    clients = [FreshClient(node, node.response_class, use_cookies=True) for node in nodes]
    assert forgot(clients[0], "nobody").status_code == 302
    assert forgot(clients[1], "nobody").status_code == 302
    assert forgot(clients[0], "nobody").status_code == 429
    assert forgot(clients[1], "nobody").status_code == 429
    with second.app_context():
        db.engine.dispose()
