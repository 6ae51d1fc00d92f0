"""The mail outbox against a real SMTP server on loopback (aiosmtpd): queued → sent, or failed after retries."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from aiosmtpd.controller import Controller
from flask import current_app
from sqlalchemy import func, select

from core.clock import utcnow
from core.extensions import db
from core.mail_outbox import CLAIM_TIMEOUT, deliver_due, queue_mail, retry
from core.models import OutgoingMail
from status.tasks import prune
from tests.smtp_server import Inbox, free_port


def mails() -> list[OutgoingMail]:
    return list(db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)
                                   .execution_options(populate_existing=True)))


def test_a_committed_mail_is_sent_at_once_and_marked_sent(ctx, smtp):
    queue_mail(db.session, "anna@region.example", "Återställ lösenord", "Länk: https://portal.example/x")
    assert smtp.messages == []  # nothing leaves before the commit
    db.session.commit()
    (mail,) = mails()
    (message,) = smtp.to("anna@region.example")
    assert mail.state == "sent" and mail.attempts == 1 and mail.sent_at is not None and mail.last_error is None
    assert message["Message-ID"] == mail.message_id and message["Subject"] == "Återställ lösenord"
    assert deliver_due(utcnow() + timedelta(hours=2)) == 0  # a sent mail is never sent again
    assert len(smtp.messages) == 1


def test_a_rolled_back_transaction_takes_its_mail_with_it(ctx, smtp):
    queue_mail(db.session, "x@region.example", "Rullas tillbaka", "Text")
    db.session.rollback()
    queue_mail(db.session, "x@region.example", "Skickas", "Text")
    db.session.commit()
    assert [m.subject for m in mails()] == ["Skickas"]
    assert [m["Subject"] for m in smtp.to("x@region.example")] == ["Skickas"]


def test_smtp_away_keeps_the_mail_queued_with_backoff_then_failed_after_the_last_attempt(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    queue_mail(db.session, "anna@region.example", "Nytt meddelande", "Logga in och läs det.")
    db.session.commit()  # the first try, right after the commit, meets a closed port
    (mail,) = mails()
    assert (mail.state, mail.attempts) == ("queued", 1)
    assert mail.last_error.startswith("SMTP unreachable")
    assert mail.next_attempt_at == mail.last_attempt_at + timedelta(seconds=30)
    assert deliver_due(mail.last_attempt_at + timedelta(seconds=29)) == 0  # not due yet: not even tried
    assert mails()[0].attempts == 1
    deliver_due(mail.last_attempt_at + timedelta(seconds=30))
    second = mails()[0]
    assert (second.state, second.attempts) == ("queued", 2)
    assert second.next_attempt_at == second.last_attempt_at + timedelta(seconds=60)
    deliver_due(second.next_attempt_at)
    failed = mails()[0]
    assert (failed.state, failed.attempts) == ("failed", 3)
    assert deliver_due(failed.last_attempt_at + timedelta(days=1)) == 0  # failed stays failed


def test_a_failed_mail_tried_again_is_sent_once_smtp_is_back(app, ctx, smtp, monkeypatch):
    live = current_app.config["MAIL_PORT"]
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 1)
    queue_mail(db.session, "anna@region.example", "Kvitto", "Ansökan är mottagen.")
    db.session.commit()
    (mail,) = mails()
    assert mail.state == "failed"
    monkeypatch.setitem(app.config, "MAIL_PORT", live)
    assert retry(mail.id) is True  # sent right after its commit, like a new mail
    assert mails()[0].state == "sent" and len(smtp.to("anna@region.example")) == 1
    assert retry(mail.id) is False  # only a failed mail can be tried again


def test_a_refused_recipient_fails_at_once(app, ctx, monkeypatch):
    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201
            return "550 no such user"

    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
        queue_mail(db.session, "nobody@region.example", "Kvitto", "Text")
        db.session.commit()
    finally:
        controller.stop()
    (mail,) = mails()
    assert (mail.state, mail.attempts, mail.last_error) == ("failed", 1, "recipient refused")


def test_a_claim_of_a_deliverer_that_died_is_taken_over_only_after_it_ran_out(ctx, smtp):
    mail = queue_mail(db.session, "anna@region.example", "Kvitto", "Text", at_once=False)
    now = utcnow()
    mail.claimed_until, mail.claimed_by = now + CLAIM_TIMEOUT, "a web worker killed mid-send"
    db.session.commit()
    assert deliver_due(now) == 0 and smtp.messages == []
    assert deliver_due(now + CLAIM_TIMEOUT) == 1
    assert len(smtp.to("anna@region.example")) == 1


class SlowInbox(Inbox):
    """Takes its time over each message, so two deliverers overlap while one is still sending."""

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        time.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def smtp_for(app, inbox: Inbox) -> Iterator[Inbox]:  # noqa: ANN001
    """Run a real SMTP server on loopback with `inbox` for `app` (a committed_app has no `smtp` fixture)."""
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_TIMEOUT=5.0)
    try:
        yield inbox
    finally:
        controller.stop()


def test_two_deliverers_at_once_send_every_mail_exactly_once(committed_app):
    with smtp_for(committed_app, SlowInbox()) as inbox:
        with committed_app.app_context():
            for number in range(20):
                queue_mail(db.session, f"user{number}@region.example", "Nytt meddelande", "Text", at_once=False)
            db.session.commit()
        start = threading.Barrier(2, timeout=10)
        counts: list[int] = []

        def deliver() -> None:
            with committed_app.app_context():
                start.wait()
                counts.append(deliver_due())

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    ids = [message["Message-ID"] for _, message in inbox.messages]
    assert sum(counts) == 20 and len(ids) == 20 and len(set(ids)) == 20
    with committed_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutgoingMail)
                                 .where(OutgoingMail.state == "sent", OutgoingMail.attempts == 1)) == 20


def test_flask_mail_send_queued_drains_by_hand_even_what_waits_out_its_backoff(app, ctx, smtp, monkeypatch):
    live = current_app.config["MAIL_PORT"]
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    queue_mail(db.session, "anna@region.example", "Kvitto", "Text")
    db.session.commit()  # SMTP away: queued, next try in 30 s
    monkeypatch.setitem(app.config, "MAIL_PORT", live)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["mail", "send-queued", "--due-only"]).output.startswith("sent 0; queued 1")
    assert runner.invoke(args=["mail", "send-queued"]).output.startswith("sent 1; queued 0")
    assert len(smtp.to("anna@region.example")) == 1


def test_the_try_after_the_commit_works_on_the_applications_own_sessions(committed_app):
    with smtp_for(committed_app, Inbox()) as inbox, committed_app.app_context():
        queue_mail(db.session, "anna@region.example", "Återställ lösenord", "Text")
        db.session.commit()
        assert len(inbox.to("anna@region.example")) == 1  # before any deliverer ran
        assert db.session.scalar(select(OutgoingMail.state).execution_options(populate_existing=True)) == "sent"


def test_sent_and_failed_mails_are_forgotten_after_thirty_days_queued_ones_never(app, ctx, smtp, monkeypatch):
    queue_mail(db.session, "anna@region.example", "Skickad", "Text")
    db.session.commit()
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    queue_mail(db.session, "anna@region.example", "Köad", "Text")
    db.session.commit()
    prune(utcnow() + timedelta(days=29))
    assert [m.subject for m in mails()] == ["Skickad", "Köad"]
    prune(utcnow() + timedelta(days=31))  # the monitor's hourly job
    assert [m.subject for m in mails()] == ["Köad"]
