"""Messages from service staff to a user or a unit: inbox, envelope, start-page notice, e-mail, attachments."""
from __future__ import annotations

import io
import re
from pathlib import Path

from flask import render_template_string
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from core.extensions import db
from app.messages import unread_message_count
from app.messages.models import Message, MessageAttachment, MessageDelivery
from tests import factories
from tests.conftest import api_token, csrf_token_from, login

PDF = b"%PDF-1.7\n% rutin\n"
SUBJECT = "Du har ett nytt meddelande i Förskrivningsportalen"
BODY = "Gå till 'Min sida' i Förskrivningsportalen för att läsa meddelandet."


def send(client, **fields):
    """Write a message through the real form, CSRF token included."""
    page = client.get("/min-sida/meddelanden/nytt")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), "recipient_kind": "user",
            "subject": "Nytt sortiment", "body": "Läs om det nya sortimentet."}
    data.update(fields)
    # Encoded here in memory: the test client spools large bodies to a temporary file it never closes.
    items = [(k, v) for k, v in data.items() if k != "attachments"]
    items += [("attachments", FileStorage(io.BytesIO(content), filename=name, content_type=kind[0] if kind else None))
              for content, name, *kind in fields.get("attachments", [])]
    boundary, body = encode_multipart(MultiDict(items))
    return client.post("/min-sida/meddelanden/nytt", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def as_user(client, username):
    """Log out whoever is logged in, then log in as this user."""
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/login").get_data(as_text=True))})
    assert login(client, username).status_code == 302


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_message_to_a_user_shows_as_unread_envelope_and_start_notice_until_opened(client, world, smtp):
    login(client, "maria")
    response = send(client, recipient_user=str(world["karin"].id), subject="Ändrade öppettider",
                    body="Kundservice har stängt\n\nfredag eftermiddag.")
    assert response.status_code == 302, response.get_data(as_text=True)

    as_user(client, "karin")
    start = client.get("/").get_data(as_text=True)
    assert "Du har ett nytt meddelande" in start and "Min sida" in start
    my_page = client.get("/min-sida/").get_data(as_text=True)
    assert 'aria-label="Oläst"' in my_page and "Ändrade öppettider" in my_page and "Maria Kundservice" in my_page
    message_id = db.session.scalar(select(Message.id))

    opened = client.get(f"/min-sida/meddelanden/{message_id}").get_data(as_text=True)
    assert "Kundservice har stängt" in opened and "fredag eftermiddag." in opened
    assert "Du har ett nytt meddelande" not in client.get("/").get_data(as_text=True)
    my_page = client.get("/min-sida/").get_data(as_text=True)
    assert 'aria-label="Läst"' in my_page and 'aria-label="Oläst"' not in my_page


def test_the_notice_mail_goes_to_the_recipient_with_the_fixed_text_and_no_message_content(client, world, smtp):
    login(client, "maria")
    send(client, recipient_user=str(world["karin"].id), subject="Patient 19121212-1212 hemskickad",
         body="Gäller Tolvan Tolvansson.")
    (mail,) = smtp.to("karin@region.example")
    assert mail["Subject"] == SUBJECT
    assert mail.get_content().strip() == BODY
    assert [rcpt for rcpt, _ in smtp.messages] == [["karin@region.example"]]


def test_the_mail_names_the_configured_system(client, world, smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "SYSTEM_NAME", "Hjälpmedelsportalen")
    login(client, "maria")
    send(client, recipient_user=str(world["karin"].id))
    (mail,) = smtp.to("karin@region.example")
    assert mail["Subject"] == "Du har ett nytt meddelande i Hjälpmedelsportalen"
    assert "Gå till 'Min sida' i Hjälpmedelsportalen" in mail.get_content()


def test_a_message_to_a_unit_reaches_each_of_its_active_users_once(client, world, smtp):
    login(client, "maria")
    response = send(client, recipient_kind="unit", recipient_unit=str(world["unit"].id))
    assert response.status_code == 302
    recipients = set(db.session.scalars(select(MessageDelivery.user_id)))
    assert recipients == {world["karin"].id, world["olle"].id}
    assert sorted(r for rcpt, _ in smtp.messages for r in rcpt) == ["karin@region.example", "olle@region.example"]
    as_user(client, "sven")
    assert "Du har ett nytt meddelande" not in client.get("/").get_data(as_text=True)


def test_hms_staff_and_admin_may_send_but_a_prescriber_may_not(client, world):
    from core.auth.roles import Role

    factories.user("hms", roles=(Role.HMS_STAFF,))
    factories.user("boss", roles=(Role.ADMIN,))
    for username in ("hms", "boss"):
        as_user(client, username)
        assert client.get("/min-sida/meddelanden/nytt").status_code == 200
    as_user(client, "karin")
    assert client.get("/min-sida/meddelanden/nytt").status_code == 403
    token = csrf_token_from(client.get("/min-sida/").get_data(as_text=True))
    refused = client.post("/min-sida/meddelanden/nytt", data={"csrf_token": token, "recipient_kind": "user",
                                                               "recipient_user": str(world["olle"].id),
                                                               "subject": "x", "body": "y"})
    assert refused.status_code == 403 and count(Message) == 0


def test_missing_fields_are_named_and_nothing_is_saved_or_mailed(client, world, smtp):
    login(client, "maria")
    response = send(client, subject="", body="", recipient_user="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ange ett ämne." in html and "Skriv ett meddelande." in html and "Välj en användare." in html
    assert count(Message) == 0 and smtp.messages == []


def test_a_unit_without_active_users_is_refused(client, world, smtp):
    empty = factories.unit(name="Tomma enheten")
    login(client, "maria")
    response = send(client, recipient_kind="unit", recipient_unit=str(empty.id))
    assert response.status_code == 422
    assert "Enheten har inga aktiva användare" in response.get_data(as_text=True)
    assert count(Message) == 0


def test_sending_needs_the_csrf_token(client, world):
    login(client, "maria")
    response = client.post("/min-sida/meddelanden/nytt", data={
        "recipient_kind": "user", "recipient_user": str(world["karin"].id), "subject": "x", "body": "y"})
    assert response.status_code == 400 and count(Message) == 0


def test_html_in_a_message_is_shown_as_text(client, world):
    login(client, "maria")
    send(client, recipient_user=str(world["karin"].id), subject="<b>Viktigt</b>", body="<script>alert(1)</script>")
    as_user(client, "karin")
    message_id = db.session.scalar(select(Message.id))
    html = client.get(f"/min-sida/meddelanden/{message_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Viktigt</b>" not in html and "&lt;b&gt;Viktigt&lt;/b&gt;" in html


def test_an_attachment_is_served_only_to_recipients_as_a_download(client, world, app):
    login(client, "maria")
    response = send(client, recipient_user=str(world["karin"].id),
                    attachments=[(PDF, "Rutin för beställning.pdf", "application/x-whatever")])
    assert response.status_code == 302
    attachment = db.session.scalar(select(MessageAttachment))
    url = f"/min-sida/meddelanden/{attachment.message_id}/bilagor/{attachment.id}"
    stored = Path(app.instance_path) / "attachments" / attachment.storage_key
    assert stored.read_bytes() == PDF

    assert client.get(url).status_code == 404  # the sender is not a recipient
    as_user(client, "olle")
    assert client.get(url).status_code == 404
    as_user(client, "karin")
    assert "Rutin för beställning.pdf" in client.get("/min-sida/").get_data(as_text=True)
    download = client.get(url)
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"  # our type, not the one the browser claimed
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in download.headers["Cache-Control"]


def test_a_refused_attachment_saves_nothing_and_leaves_no_file(client, world, app):
    login(client, "maria")
    response = send(client, recipient_user=str(world["karin"].id), attachments=[
        (PDF, "ok.pdf"), (b"MZ\x90\x00", "program.pdf")])
    assert response.status_code == 422
    assert "Innehållet i program.pdf stämmer inte med filtypen." in response.get_data(as_text=True)
    assert count(Message) == 0 and count(MessageAttachment) == 0
    folder = Path(app.instance_path) / "attachments"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_too_many_or_too_large_attachments_are_refused(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_ATTACHMENT_MAX_BYTES", 1024 * 1024)
    login(client, "maria")
    four = [(PDF, f"{n}.pdf") for n in range(4)]
    response = send(client, recipient_user=str(world["karin"].id), attachments=four)
    assert response.status_code == 422 and "Högst 3 bilagor." in response.get_data(as_text=True)
    big = PDF + b"x" * (1024 * 1024)
    response = send(client, recipient_user=str(world["karin"].id), attachments=[(big, "stor.pdf")])
    assert response.status_code == 422 and "stor.pdf är för stor (högst 1 MB)" in response.get_data(as_text=True)
    huge = PDF + b"x" * (4 * 1024 * 1024)
    response = send(client, recipient_user=str(world["karin"].id), attachments=[(huge, "enorm.pdf")])
    assert response.status_code == 413 and "Inget har skickats" in response.get_data(as_text=True)
    assert count(Message) == 0


def test_sent_messages_show_how_many_recipients_have_read(client, world):
    login(client, "maria")
    send(client, recipient_kind="unit", recipient_unit=str(world["unit"].id), subject="Till enheten")
    as_user(client, "karin")
    client.get(f"/min-sida/meddelanden/{db.session.scalar(select(Message.id))}")
    as_user(client, "maria")
    html = client.get("/min-sida/meddelanden/skickade").get_data(as_text=True)
    assert "Till enheten" in html and "1 av 2" in html and world["unit"].customer_number in html


def test_opening_someone_elses_message_is_404(client, world):
    login(client, "maria")
    send(client, recipient_user=str(world["karin"].id))
    as_user(client, "olle")
    assert client.get(f"/min-sida/meddelanden/{db.session.scalar(select(Message.id))}").status_code == 404


def test_the_unread_count_is_one_query(app, world):
    from app.messages import services
    from app.messages.services import MessageInput

    services.send_message(world["maria"], MessageInput("Hej", "Text", recipient_user_id=world["karin"].id))
    statements = []
    with app.test_request_context("/"):
        from flask_login import login_user

        login_user(world["karin"])
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            first, again = unread_message_count(), unread_message_count()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        html = render_template_string('{% include "messages/_start_notice.html" %}')
    queries = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))]
    assert (first, again) == (1, 1)
    assert "Du har ett nytt meddelande" in html
    assert len(queries) == 1 and re.search(r"count\(\*\)", queries[0], re.IGNORECASE)


def test_api_lists_the_inbox_with_unread_flags_and_attachments_without_marking_read(client, world):
    login(client, "maria")
    send(client, recipient_user=str(world["karin"].id), subject="Första",
         attachments=[(PDF, "rutin.pdf")])
    send(client, recipient_user=str(world["karin"].id), subject="Andra")
    headers = {"Authorization": f"Bearer {api_token(client, 'karin')}"}
    body = client.get("/api/v1/messages", headers=headers).get_json()
    assert body["total"] == 2 and body["unread"] == 2
    assert [m["subject"] for m in body["messages"]] == ["Andra", "Första"]
    first = body["messages"][1]
    assert first["read"] is False and first["sender"] == "Maria Kundservice"
    assert first["attachments"][0]["filename"] == "rutin.pdf"
    download = client.get(first["attachments"][0]["url"], headers=headers)
    assert download.status_code == 200 and download.data == PDF
    assert client.get("/api/v1/messages?unread=true", headers=headers).get_json()["total"] == 2  # still unread

    as_user(client, "karin")
    client.get(f"/min-sida/meddelanden/{first['id']}")
    unread = client.get("/api/v1/messages?unread=true", headers=headers).get_json()
    assert [m["subject"] for m in unread["messages"]] == ["Andra"] and unread["unread"] == 1


def test_api_refuses_bad_parameters_naming_them(client, world):
    headers = {"Authorization": f"Bearer {api_token(client, 'karin')}"}
    for query, field in (("unread=kanske", "unread"), ("page=x", "page"), ("sort=subject", "sort")):
        response = client.get(f"/api/v1/messages?{query}", headers=headers)
        assert response.status_code == 422 and response.get_json()["error"]["field"] == field
    assert client.get("/api/v1/messages").status_code == 401
