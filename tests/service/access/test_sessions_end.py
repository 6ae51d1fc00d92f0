"""The access flows end sessions: a new password and a termination log the account out everywhere."""
from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.extensions import db
from core.models import UserSession
from tests.client import FreshClient
from tests.conftest import api_token, login
from tests.service.access.test_applications import applications, decide, report_change
from tests.service.access.test_password_reset import LINK, NEW_PASSWORD, ask, choose


def browser(app: Flask) -> FlaskClient:
    return FreshClient(app, app.response_class, use_cookies=True)


def sessions_of(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id))


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(client, world, smtp, app):
    at_work, at_home = browser(app), browser(app)
    login(at_work, "anna")
    login(at_home, "anna")
    ask(client, "anna")
    path = LINK.search(smtp.to("anna@region.example")[0].get_content()).group(1)

    assert choose(at_home, path).status_code == 302

    for anna in (at_work, at_home):
        response = anna.get("/min-sida/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(at_work, "anna", NEW_PASSWORD).status_code == 302
    assert at_work.get("/min-sida/").status_code == 200


def test_a_termination_deletes_the_accounts_sessions(client, world, smtp, app):
    anna = browser(app)
    login(anna, "anna")
    report_change(client, kind="termination")
    login(client, "boss")
    decide(client, applications()[0].id, "bevilja")

    assert sessions_of(world["anna"].id) == 0
    response = anna.get("/min-sida/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_sessions_ended_by_a_leave_stay_ended_after_the_return(client, world, smtp, app):
    anna = browser(app)
    login(anna, "anna")
    token = api_token(browser(app), "anna")
    report_change(client, change_type="leave", starts_on="2026-11-01", ends_on="2027-04-30")
    login(client, "boss")
    decide(client, applications()[0].id, "bevilja")
    report_change(client, change_type="return")
    decide(client, applications()[1].id, "bevilja")

    response = anna.get("/min-sida/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert anna.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
