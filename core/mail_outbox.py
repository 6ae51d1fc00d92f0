"""The mail outbox: queue a mail in the caller's transaction, send it after the commit, retry later.

`queue_mail` adds an `outgoing_mail` row to the caller's transaction, so a rollback drops the
mail and a commit keeps it. Right after the commit the mails of that transaction are tried
once in the same process (a password reset arrives at once); the monitor's `core.mail` job
(`deliver_due`) retries what is still queued with backoff and marks a mail failed after
MAIL_MAX_ATTEMPTS. A deliverer claims a row with a conditional UPDATE before it talks to SMTP,
so two monitors, web workers or `flask mail send-queued` never send one mail twice.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.clockjump import due_clause
from core.extensions import db
from core.mail import MailError, build_message, new_message_id, send_mail
from core.models.outgoing_mail import MAIL_FAILED, MAIL_QUEUED, MAIL_SENT, OutgoingMail
from core.store import begin_write

log = logging.getLogger("core.mail")

_PENDING = "core.mail_outbox.pending"
CLAIM_TIMEOUT = timedelta(minutes=5)  # a deliverer that died frees its mail after this
FIRST_BACKOFF = timedelta(seconds=30)
LONGEST_BACKOFF = timedelta(hours=1)
# A time this far ahead can only come from a clock that went back; the row is not kept waiting for it.
CLOCK_SLACK = timedelta(hours=1)
GIVE_UP_RUN_AFTER = 3  # unreachable SMTP this many times in a row ends a delivery run
# Mails claimed at a time: even at MAIL_TIMEOUT each they are all tried well within CLAIM_TIMEOUT.
CLAIM_CHUNK = 20
# Sent and failed mails are forgotten after this: their links (30 days at the longest) are dead by then.
KEPT = timedelta(days=30)


def queue_mail(session: Session, to: str, subject: str, body: str, *,
               headers: Mapping[str, str] | None = None, at_once: bool = True) -> OutgoingMail:
    """Queue one mail in the session's transaction; unless not `at_once`, it is tried right after the commit.

    The text is screened now, so a mail with personal data fails the caller (PersonalDataInMail).
    A caller queueing many mails in many transactions passes at_once=False and calls `deliver_due`
    with their ids once, so an unreachable server costs one give-up, not one timeout per mail.
    """
    sender = current_app.config["MAIL_FROM"]
    build_message(sender, to, subject, body, headers)
    now = utcnow()
    mail = OutgoingMail(recipient=to, subject=subject[:250], body=body, message_id=new_message_id(sender),
                        headers=json.dumps(dict(headers), ensure_ascii=False) if headers else None,
                        state=MAIL_QUEUED, attempts=0, created_at=now, next_attempt_at=now)
    session.add(mail)
    session.flush()
    if at_once:
        session.info.setdefault(_PENDING, []).append(mail.id)
    return mail


def retry(mail_id: int, now: datetime | None = None) -> bool:
    """Queue a failed mail again with fresh attempts; return False if it was not failed."""
    begin_write()
    now = now or utcnow()
    result = db.session.execute(
        update(OutgoingMail).where(OutgoingMail.id == mail_id, OutgoingMail.state == MAIL_FAILED)
        .values(state=MAIL_QUEUED, attempts=0, next_attempt_at=now, claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        db.session.info.setdefault(_PENDING, []).append(mail_id)
    db.session.commit()
    return result.rowcount == 1


def forget_old(now: datetime) -> int:
    """Delete sent and failed mails older than KEPT; return how many."""
    begin_write()
    result = db.session.execute(delete(OutgoingMail).where(OutgoingMail.state != MAIL_QUEUED,
                                                           OutgoingMail.created_at < now - KEPT))
    db.session.commit()
    return result.rowcount


def worker_id() -> str:
    """Return this deliverer's name in claims: host, pid and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def _due(now: datetime):  # noqa: ANN202
    return due_clause(OutgoingMail.next_attempt_at, now, LONGEST_BACKOFF + CLOCK_SLACK)


def _unclaimed(now: datetime):  # noqa: ANN202
    return due_clause(OutgoingMail.claimed_until, now, CLAIM_TIMEOUT + CLOCK_SLACK)


def deliver_due(now: datetime | None = None, *, only: Iterable[int] | None = None, limit: int = 100,
                session: Session | None = None, waiting_too: bool = False) -> int:
    """Send the queued mails that are due (or just `only` these); return how many were sent.

    `waiting_too` also sends those still waiting out their backoff (draining by hand).
    """
    session = session or db.session()
    now = now or utcnow()
    if only is None:
        query = (select(OutgoingMail.id).where(OutgoingMail.state == MAIL_QUEUED, _unclaimed(now))
                 .order_by(OutgoingMail.id).limit(limit))
        ids = list(session.scalars(query if waiting_too else query.where(_due(now))))
        session.commit()  # no transaction stays open while we talk to SMTP
    else:
        ids = sorted(only)
    worker = worker_id()
    sent = unreachable = 0
    for start in range(0, len(ids), CLAIM_CHUNK):
        claimed = _claim(session, ids[start:start + CLAIM_CHUNK], now, worker, waiting_too)
        for index, mail in enumerate(claimed):
            error = _send(mail)
            _record(session, mail, now, error)
            if error is None:
                sent, unreachable = sent + 1, 0
            elif not error.permanent:
                unreachable += 1
                if unreachable >= GIVE_UP_RUN_AFTER:  # the server is away: the rest keep their turn
                    _release(session, [rest.id for rest in claimed[index + 1:]], worker)
                    return sent
    return sent


def _claim(session: Session, ids: list[int], now: datetime, worker: str, waiting_too: bool) -> list:
    """Claim those of `ids` no other deliverer has (one conditional UPDATE); return them in id order."""
    begin_write(session)
    conditions = [OutgoingMail.id.in_(ids), OutgoingMail.state == MAIL_QUEUED, _unclaimed(now)]
    if not waiting_too:
        conditions.append(_due(now))
    rows = session.execute(
        update(OutgoingMail).where(*conditions)
        .values(claimed_until=now + CLAIM_TIMEOUT, claimed_by=worker[:80])
        .returning(OutgoingMail.id, OutgoingMail.recipient, OutgoingMail.subject, OutgoingMail.body,
                   OutgoingMail.headers, OutgoingMail.message_id, OutgoingMail.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return sorted(rows, key=lambda row: row.id)


def _release(session: Session, ids: list[int], worker: str) -> None:
    if not ids:
        return
    begin_write(session)
    session.execute(update(OutgoingMail).where(OutgoingMail.id.in_(ids), OutgoingMail.claimed_by == worker[:80])
                    .values(claimed_until=None, claimed_by=None).execution_options(synchronize_session=False))
    session.commit()


def _send(mail) -> MailError | None:  # noqa: ANN001
    try:
        # Screened when queued: the text has not changed since.
        send_mail(mail.recipient, mail.subject, mail.body, headers=json.loads(mail.headers) if mail.headers else None,
                  screened=True, message_id=mail.message_id)
    except MailError as exc:
        return exc
    return None


def _record(session: Session, mail, now: datetime, error: MailError | None) -> None:  # noqa: ANN001
    attempts = mail.attempts + 1
    values: dict = {"claimed_until": None, "claimed_by": None, "attempts": attempts, "last_attempt_at": now}
    if error is None:
        values.update(state=MAIL_SENT, sent_at=now, last_error=None)
    else:
        log.warning("mail %s not sent (attempt %s): %s", mail.id, attempts, error.message)
        values["last_error"] = error.message[:300]
        if error.permanent or attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"]):
            values["state"] = MAIL_FAILED
        else:
            values["next_attempt_at"] = now + min(FIRST_BACKOFF * 2 ** (attempts - 1), LONGEST_BACKOFF)
    begin_write(session)
    session.execute(update(OutgoingMail).where(OutgoingMail.id == mail.id).values(**values)
                    .execution_options(synchronize_session=False))
    session.commit()


def deliver_after_commit(session: Session) -> None:
    """Try the mails the committed transaction queued, once, in a session of their own."""
    ids = session.info.pop(_PENDING, None)
    if not ids:
        return
    # The committed session may not run SQL any more; a fresh one on the same bind may.
    with Session(bind=session.get_bind(), join_transaction_mode="create_savepoint",
                 expire_on_commit=False) as own:
        try:
            deliver_due(only=ids, session=own)
        except Exception:  # noqa: BLE001 - the caller's change is committed; the monitor retries
            log.exception("mail after commit: delivery failed; the monitor will retry")
            own.rollback()


def drop_pending(session: Session) -> None:
    """Forget the mails of a transaction that was rolled back (their rows are gone with it)."""
    session.info.pop(_PENDING, None)


# Registered once, when the module loads, so two first mails in two threads can't register twice.
@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    deliver_after_commit(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:  # noqa: ANN001
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        drop_pending(session)
