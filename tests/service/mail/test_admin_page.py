"""The admin page "Utgående e-post": every mail with its state, its body on a page of its own, "Försök igen"."""
from __future__ import annotations

import re

import pytest

from app.access import password_reset
from core.auth.roles import Role
from core.extensions import db
from core.mail_outbox import queue_mail
from core.models import OutgoingMail
from tests import factories
from tests.conftest import csrf_token_from, login
from tests.smtp_server import free_port


@pytest.fixture
def admin(client, ctx):
    factories.user("boss", roles=(Role.ADMIN,))
    db.session.commit()
    login(client, "boss")
    return client


def test_the_list_shows_state_attempts_and_error_in_swedish_newest_first(admin, smtp):
    queue_mail(db.session, "anna@region.example", "Första", "Text")
    db.session.commit()  # sent: the SMTP server listens
    smtp_port = admin.application.config["MAIL_PORT"]
    admin.application.config["MAIL_PORT"] = free_port()  # nobody listens
    try:
        queue_mail(db.session, "bertil@region.example", "Andra", "Text")
        db.session.commit()
    finally:
        admin.application.config["MAIL_PORT"] = smtp_port
    page = admin.get("/admin/e-post").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    assert "Andra" in rows[0] and "Köad" in rows[0] and "SMTP unreachable" in rows[0]
    assert "Första" in rows[1] and "Skickad" in rows[1]
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", rows[0])  # the Swedish way, in Swedish time
    assert "Utgående e-post" in admin.get("/admin/").get_data(as_text=True)


def test_a_password_reset_mail_is_readable_with_its_link(admin, smtp):
    factories.user("anna", email="anna@region.example")
    db.session.commit()
    password_reset.request_password_reset("anna")
    mail = db.session.query(OutgoingMail).filter_by(recipient="anna@region.example").one()
    page = admin.get(f"/admin/e-post/{mail.id}").get_data(as_text=True)
    link = re.search(r'<a href="(http[^"]+/losenord\?t=[^"]+)" rel="noreferrer">', page)
    assert link and "Skickad" in page and mail.message_id in page.replace("&lt;", "<").replace("&gt;", ">")


def test_a_failed_mail_can_be_tried_again(admin, smtp, monkeypatch):
    monkeypatch.setitem(admin.application.config, "MAIL_MAX_ATTEMPTS", 1)
    live = admin.application.config["MAIL_PORT"]
    admin.application.config["MAIL_PORT"] = free_port()
    try:
        mail = queue_mail(db.session, "anna@region.example", "Kvitto", "Text")
        db.session.commit()
    finally:
        admin.application.config["MAIL_PORT"] = live
    page = admin.get(f"/admin/e-post/{mail.id}").get_data(as_text=True)
    assert "Misslyckad" in page and "Försök igen" in page
    assert admin.post(f"/admin/e-post/{mail.id}/forsok-igen").status_code == 400  # no CSRF token
    done = admin.post(f"/admin/e-post/{mail.id}/forsok-igen", data={"csrf_token": csrf_token_from(page)},
                      follow_redirects=True).get_data(as_text=True)
    assert "köat igen" in done and "Skickad" in done and len(smtp.to("anna@region.example")) == 1
    assert admin.get("/admin/e-post/999999").status_code == 404


@pytest.mark.parametrize("role", [Role.IT_STAFF, Role.PRESCRIBER, Role.CUSTOMER_SERVICE])
def test_only_the_business_owner_sees_outgoing_mail(client, ctx, role):
    mail = queue_mail(db.session, "anna@region.example", "Återställ lösenord", "https://x/losenord?t=hemlig",
                      at_once=False)
    factories.user("other", roles=(role,))
    db.session.commit()
    login(client, "other")
    for path in ("/admin/e-post", f"/admin/e-post/{mail.id}"):
        response = client.get(path)
        assert response.status_code == 403 and "hemlig" not in response.get_data(as_text=True)
