"""Server-side sessions: a cookie is worth nothing once its session has ended; idle timeout and lifetime;
Min sida's sessions and "Logga ut överallt"; an admin ending a user's sessions; revocable API tokens."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import event, func, select

from app import create_app
from core.auth.roles import Role
from core.config import TestConfig
from core.extensions import db
from core.models import ApiToken, UserSession
from tests import factories
from tests.client import FreshClient
from tests.conftest import api_token, csrf_token_from, login

COOKIE = "fp_session"
MORNING = datetime(2026, 11, 2, 8, 0)
FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def browser(app: Flask, user_agent: str | None = None) -> FlaskClient:
    """Return a client of its own, as a second browser would be."""
    client = FreshClient(app, app.response_class, use_cookies=True)
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def cookie_of(client: FlaskClient) -> str:
    return client.get_cookie(COOKIE).value


def replaying(app: Flask, cookie: str) -> FlaskClient:
    """Return a fresh client that sends a copy of someone's session cookie."""
    thief = browser(app)
    thief.set_cookie(COOKIE, cookie)
    return thief


def post_from(client: FlaskClient, page: str, action: str):
    """Post a form the way the page would, with the page's CSRF token."""
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token})


def sent_to_login(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_cookie_replayed_after_logout_gets_the_login_page_and_the_api_401(client, app):
    factories.user("karin")
    login(client, "karin")
    copied = cookie_of(client)
    assert replaying(app, copied).get("/min-sida/").status_code == 200  # the copy works while the session lives

    assert sent_to_login(post_from(client, "/", "/logout"))

    replay = replaying(app, copied)
    assert sent_to_login(replay.get("/min-sida/"))
    api = replay.get("/api/v1/me")
    assert api.status_code == 401 and api.get_json()["error"]["status"] == 401


def test_the_cookie_is_a_random_id_and_the_store_keeps_only_its_hash(client, ctx):
    karin = factories.user("karin")
    login(client, "karin")
    cookie = cookie_of(client)
    row = db.session.execute(select(UserSession).where(UserSession.user_id == karin.id)).scalar_one()
    assert row.token_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert cookie not in row.token_hash and cookie not in row.data
    assert "." not in cookie and len(cookie) >= 43  # no signed payload, 256 random bits


def test_login_replaces_the_id_the_browser_had_before(client, app):
    factories.user("karin")
    client.get("/login")
    before_login = cookie_of(client)
    login(client, "karin")
    assert cookie_of(client) != before_login
    assert sent_to_login(replaying(app, before_login).get("/min-sida/"))  # a planted id never becomes logged in


def test_a_session_ends_after_thirty_idle_minutes_and_requests_keep_it_alive(client):
    factories.user("karin")
    with freeze_time(MORNING) as clock:
        login(client, "karin")
        clock.tick(timedelta(minutes=29))
        assert client.get("/").status_code == 200
        clock.tick(timedelta(minutes=29))
        assert client.get("/").status_code == 200  # 58 minutes after login, 29 after the last request
        clock.tick(timedelta(minutes=30))
        assert sent_to_login(client.get("/"))


def test_the_idle_timeout_comes_from_the_configuration(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT_MINUTES", 5)
    factories.user("karin")
    with freeze_time(MORNING) as clock:
        login(client, "karin")
        clock.tick(timedelta(minutes=4, seconds=59))
        assert client.get("/").status_code == 200
        clock.tick(timedelta(minutes=5))
        assert sent_to_login(client.get("/"))


def test_a_session_ends_ten_hours_after_login_however_busy(client):
    factories.user("karin")
    with freeze_time(MORNING) as clock:
        login(client, "karin")
        for _ in range(29):
            clock.tick(timedelta(minutes=20))
            assert client.get("/").status_code == 200
        clock.tick(timedelta(minutes=19, seconds=59))
        assert client.get("/").status_code == 200  # 9 h 59 min 59 s
        clock.tick(timedelta(seconds=1))
        assert sent_to_login(client.get("/"))


def test_last_use_is_written_at_most_once_a_minute(client, ctx):
    karin = factories.user("karin")

    def last_seen() -> datetime:
        return db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == karin.id))

    with freeze_time(MORNING) as clock:
        login(client, "karin")
        clock.tick(timedelta(seconds=59))
        client.get("/")
        assert last_seen() == MORNING
        clock.tick(timedelta(seconds=1))
        client.get("/")
        assert last_seen() == MORNING + timedelta(minutes=1)


def test_my_page_lists_my_sessions_and_marks_this_one(client, app):
    factories.user("karin")
    login(browser(app, FIREFOX_ON_WINDOWS), "karin")
    login(client, "karin")
    html = client.get("/min-sida/").get_data(as_text=True)
    sessions = html[html.index('id="sessioner"'):html.index("</table>", html.index('id="sessioner"'))]
    assert "Aktiva sessioner <span class=\"count\">(2)</span>" in sessions
    assert "Firefox på Windows" in sessions
    assert sessions.count("Den här sessionen") == 1
    assert "Logga ut överallt" in html


def test_logging_out_everywhere_ends_every_session_and_token(client, app):
    factories.user("karin")
    other = browser(app)
    login(other, "karin")
    token = api_token(client, "karin")
    login(client, "karin")

    response = post_from(client, "/min-sida/", "/min-sida/logga-ut-overallt")

    assert sent_to_login(response)
    assert sent_to_login(client.get("/min-sida/"))
    assert sent_to_login(other.get("/min-sida/"))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_logging_out_everywhere_needs_a_csrf_token(client, app):
    factories.user("karin")
    login(client, "karin")
    assert client.post("/min-sida/logga-ut-overallt").status_code == 400
    assert client.get("/min-sida/").status_code == 200


def test_a_revoked_token_gets_401_json_and_the_others_keep_working(client, ctx):
    karin = factories.user("karin")
    kept, revoked = api_token(client, "karin"), api_token(client, "karin")
    login(client, "karin")
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hashlib.sha256(revoked.encode()).hexdigest()))
    assert client.get("/min-sida/").get_data(as_text=True).count("Återkalla</button>") == 2

    response = post_from(client, "/min-sida/", f"/min-sida/api-nycklar/{token_id}/aterkalla")

    assert response.status_code == 302
    answer = client.get("/api/v1/me", headers=bearer(revoked))
    assert answer.status_code == 401 and answer.is_json and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/me", headers=bearer(kept)).status_code == 200
    assert client.get("/min-sida/").status_code == 200  # revoking a token leaves the browser session alone
    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == karin.id, ApiToken.revoked_at.is_not(None))) == 1


def test_nobody_can_revoke_someone_elses_token(client, ctx):
    factories.user("karin")
    factories.user("olle")
    theirs = api_token(client, "olle")
    token_id = db.session.scalar(select(ApiToken.id))
    login(client, "karin")
    assert post_from(client, "/min-sida/", f"/min-sida/api-nycklar/{token_id}/aterkalla").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(theirs)).status_code == 200


def test_an_admin_ends_a_users_sessions_and_tokens(client, app, ctx):
    karin = factories.user("karin")
    factories.user("boss", roles=(Role.ADMIN,))
    karins_browser = browser(app)
    login(karins_browser, "karin")
    token = api_token(karins_browser, "karin")
    login(client, "boss")
    listing = client.get("/admin/sessioner").get_data(as_text=True)
    assert "karin" in listing and "boss" in listing

    response = post_from(client, "/admin/sessioner", f"/admin/sessioner/{karin.id}/avsluta")

    assert response.status_code == 302
    assert "Alla sessioner för karin är avslutade" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert sent_to_login(karins_browser.get("/"))
    assert karins_browser.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.get("/admin/sessioner").status_code == 200  # the admin's own session goes on


def test_ending_sessions_is_for_admins_only(client, app, ctx):
    factories.user("karin")
    olle = factories.user("olle")
    olles_browser = browser(app)
    login(olles_browser, "olle")
    login(client, "karin")
    assert client.get("/admin/sessioner").status_code == 403
    token = csrf_token_from(client.get("/min-sida/").get_data(as_text=True))
    assert client.post(f"/admin/sessioner/{olle.id}/avsluta", data={"csrf_token": token}).status_code == 403
    assert olles_browser.get("/").status_code == 200


def test_ending_the_sessions_of_an_unknown_user_is_404(client):
    factories.user("boss", roles=(Role.ADMIN,))
    login(client, "boss")
    assert post_from(client, "/admin/sessioner", "/admin/sessioner/999999/avsluta").status_code == 404


def test_closing_an_account_ends_its_sessions_for_good(client, app, ctx):
    karin = factories.user("karin")
    login(client, "karin")
    token = api_token(browser(app), "karin")
    karin = db.session.merge(karin)
    karin.active = False  # what a termination or a leave does, whichever use case does it
    db.session.commit()
    karin.active = True  # back from leave: the account opens, the old session does not
    db.session.commit()
    assert sent_to_login(client.get("/"))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == karin.id)) == 0


def test_a_session_made_through_one_app_instance_is_valid_through_another_on_the_same_store(committed_app):
    class SameStore(TestConfig):
        SQLALCHEMY_DATABASE_URI = committed_app.config["SQLALCHEMY_DATABASE_URI"]

    second = create_app(SameStore)  # another gunicorn worker, or another web host
    try:
        factories.user("karin")
        first = browser(committed_app)
        login(first, "karin")
        elsewhere = replaying(second, cookie_of(first))
        assert elsewhere.get("/min-sida/").status_code == 200

        assert sent_to_login(post_from(elsewhere, "/", "/logout"))  # logging out through the second...
        assert sent_to_login(first.get("/min-sida/"))  # ...ends the session in the first
    finally:
        with second.app_context():
            db.engine.dispose()


def test_an_api_client_that_keeps_cookies_is_judged_by_its_token_alone(client):
    factories.user("karin")
    client.get("/login")  # its cookie jar now holds a session of a visitor who is not logged in
    token = api_token(client, "karin")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/me").status_code == 401
    assert client.get_cookie(COOKIE) is not None  # the browser side is left as it was


def test_requests_that_change_nothing_write_nothing(client, app):
    factories.user("karin")
    writes: list[str] = []

    def note_session_writes(_conn, _cursor, statement, *_args) -> None:
        if "user_sessions" in statement and not statement.lstrip().upper().startswith("SELECT"):
            writes.append(statement.split()[0])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note_session_writes)
    try:
        with freeze_time(MORNING) as clock:
            for _ in range(3):
                client.get("/login")  # a visitor who is not logged in yet
            assert writes == ["INSERT"]
            login(client, "karin")
            writes.clear()
            for _ in range(3):
                clock.tick(timedelta(seconds=10))
                assert client.get("/min-sida/").status_code == 200
            assert writes == []
    finally:
        event.remove(engine, "before_cursor_execute", note_session_writes)
