"""The status outbox: notifications queued in the transaction of their change, delivered after it.

A mail is delivered by handing it to the mail outbox (core.mail_outbox), which sends and retries
it like every other mail; this table decides what is notified, once, and calls the webhook.

Each row has a unique key (incident, event, recipient), so a restart or a second process
can queue the same notification again without it being sent twice; delivery claims a row
with a conditional UPDATE before sending it.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db
from core.mail import MailError
from core.mail_outbox import deliver_due as deliver_mail, queue_mail
from core.store import begin_write
from core.outbound import TransportError, request_json
from status import messages
from core.clockjump import due_clause, expired_clause
from status.links import public_url, unsubscribe_token
from status.models import Driftinfo, Incident, IncidentUpdate, Notification, Subscriber
from status.rules import RESERVE_NOTICE_ROLES, SERVICEDESK, escalation_plan, reminder_number
from status.scenarios import Scenario
from status.settings import MonitorSettings

CLAIM_TIMEOUT = timedelta(minutes=5)
LONGEST_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 8
GIVE_UP_RUN_AFTER = 3  # failures in a row end a delivery run
WEBHOOK_TIMEOUT = (3.0, 10.0)
_CHUNK = 500


def worker_id() -> str:
    """Return this process's name in claims: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _system() -> str:
    return current_app.config["SYSTEM_NAME"]


def insert_ignoring_duplicates(rows: list[dict]) -> int:
    """Insert notification rows, skipping any whose key is already queued; return how many were new."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for start in range(0, len(rows), _CHUNK):
        statement = insert(Notification).values(rows[start:start + _CHUNK])
        statement = statement.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(Notification.id)
        added += len(db.session.execute(statement).all())
    return added


def _row(key: str, purpose: str, subject: str, body: str, now: datetime, **extra) -> dict:
    values = {"dedup_key": key, "purpose": purpose, "channel": "email", "recipient": None, "subscriber_id": None,
              "incident_id": None, "subject": subject[:250], "body": body, "unsubscribe_url": None,
              "created_at": now, "next_attempt_at": now, "attempts": 0}
    values.update(extra)
    return values


# --- Queueing -------------------------------------------------------------------------------

def queue_escalation(incident: Incident, event: str, now: datetime, settings: MonitorSettings,
                     reminder: int = 0) -> int:
    """Queue the escalation mails (and Servicedesk webhook) for an incident event; return how many."""
    scenario = Scenario(incident.scenario)
    if event in ("reserve_activated", "reserve_ended"):
        roles: tuple[str, ...] = RESERVE_NOTICE_ROLES
    else:
        roles = escalation_plan(scenario, on_duty=not incident.escalated_off_duty)
    if not roles:
        return 0
    if SERVICEDESK in roles and event == "opened" and incident.servicedesk_reference is None:
        incident.servicedesk_reference = f"DRIFT-{incident.id:05d}"
    status_url = public_url("status.page")
    rows = []
    for role in roles:
        webhook = settings.webhook_for(role)
        if webhook:
            if event == "opened":
                payload = messages.servicedesk_payload(
                    _system(), scenario, incident_id=incident.id, reference=incident.servicedesk_reference or "",
                    started_at=incident.started_at, status_url=status_url)
                rows.append(_row(f"esc:{incident.id}:opened:{role}:webhook", "servicedesk", "Servicedesk-incident",
                                 json.dumps(payload), now, channel="webhook", recipient=webhook,
                                 incident_id=incident.id))
            continue
        for address in settings.recipients.get(role, ()):
            mail = messages.escalation_mail(
                _system(), scenario, event, role, incident_id=incident.id, started_at=incident.started_at,
                reference=incident.servicedesk_reference, status_url=status_url, reminder=reminder)
            step = f"{event}{reminder}" if reminder else event
            rows.append(_row(f"esc:{incident.id}:{step}:{role}:{_digest(address)}", "escalation", mail.subject,
                             mail.body, now, recipient=address, incident_id=incident.id))
    return insert_ignoring_duplicates(rows)


def _confirmed_subscribers() -> list[tuple[int, str]]:
    query = select(Subscriber.id, Subscriber.email).where(Subscriber.confirmed_at.is_not(None)).order_by(Subscriber.id)
    return [(row.id, row.email) for row in db.session.execute(query)]


def queue_subscriber_update(incident: Incident, update_row: IncidentUpdate, now: datetime) -> int:
    """Queue one mail per confirmed subscriber for a timeline update."""
    scenario = Scenario(incident.scenario)
    status_url = public_url("status.page")
    rows = []
    for subscriber_id, email in _confirmed_subscribers():
        unsubscribe = public_url("status.unsubscribe", token=unsubscribe_token(subscriber_id, email))
        mail = messages.subscriber_update_mail(
            _system(), scenario, update_row.status, update_row.message, at=update_row.at,
            started_at=incident.started_at, prognosis=incident.prognosis_text, reserve_active=incident.reserve_active,
            status_url=status_url, unsubscribe_url=unsubscribe)
        rows.append(_row(f"sub:{subscriber_id}:update:{update_row.id}", "subscriber", mail.subject, mail.body, now,
                         subscriber_id=subscriber_id, incident_id=incident.id, unsubscribe_url=unsubscribe))
    return insert_ignoring_duplicates(rows)


def queue_subscriber_driftinfo(post: Driftinfo, now: datetime) -> int:
    """Queue one mail per confirmed subscriber for a driftinfo post."""
    status_url = public_url("status.page")
    rows = []
    for subscriber_id, email in _confirmed_subscribers():
        unsubscribe = public_url("status.unsubscribe", token=unsubscribe_token(subscriber_id, email))
        mail = messages.subscriber_driftinfo_mail(_system(), post.title, post.body, at=post.at,
                                                  status_url=status_url, unsubscribe_url=unsubscribe)
        rows.append(_row(f"sub:{subscriber_id}:driftinfo:{post.id}", "subscriber", mail.subject, mail.body, now,
                         subscriber_id=subscriber_id, unsubscribe_url=unsubscribe))
    return insert_ignoring_duplicates(rows)


def queue_confirmation(subscriber: Subscriber, confirm_url: str, now: datetime) -> list[int]:
    """Queue the double opt-in mail; return the new row's id (empty if already queued)."""
    mail = messages.confirmation_mail(_system(), confirm_url)
    key = f"confirm:{subscriber.id}:{now:%Y%m%d%H%M%S}"
    insert_ignoring_duplicates([_row(key, "confirmation", mail.subject, mail.body, now, subscriber_id=subscriber.id)])
    return list(db.session.scalars(select(Notification.id).where(Notification.dedup_key == key)))


def queue_reminders(now: datetime, settings: MonitorSettings) -> int:
    """Queue the escalation reminders that have come due for incidents still down."""
    if settings.reminder_interval is None:
        return 0
    added = 0
    ongoing = select(Incident).where(Incident.open_track.is_not(None), Incident.recovered_at.is_(None))
    for incident in db.session.scalars(ongoing):
        number = reminder_number(incident.detected_at, now, settings.reminder_interval)
        if number:
            added += queue_escalation(incident, "reminder", now, settings, reminder=number)
    return added


# --- Delivery -------------------------------------------------------------------------------

def _claim(notification_id: int, now: datetime, worker: str) -> bool:
    begin_write()
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.sent_at.is_(None), Notification.failed_at.is_(None),
               expired_clause(Notification.claimed_at, now, CLAIM_TIMEOUT))
        .values(claimed_at=now, claimed_by=worker, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_due(now: datetime, *, limit: int = 100, only: Iterable[int] | None = None) -> int:
    """Deliver queued notifications that are due (or just `only` these); return how many were delivered.

    A mail is handed to the mail outbox (core.mail_outbox), which sends it and retries it, and
    lists it on the admin page "Utgående e-post"; a webhook is called here.
    """
    query = (select(Notification.id)
             .where(Notification.sent_at.is_(None), Notification.failed_at.is_(None),
                    due_clause(Notification.next_attempt_at, now, LONGEST_BACKOFF),
                    expired_clause(Notification.claimed_at, now, CLAIM_TIMEOUT))
             .order_by(Notification.id).limit(limit))
    if only is not None:
        query = query.where(Notification.id.in_(list(only)))
    ids = list(db.session.scalars(query))
    db.session.commit()  # no transaction stays open while we call a webhook
    worker = worker_id()
    delivered = failed_in_a_row = 0
    mails: list[int] = []
    for notification_id in ids:
        if not _claim(notification_id, now, worker):
            continue
        if _deliver_one(notification_id, now, mails):
            delivered, failed_in_a_row = delivered + 1, 0
        else:
            failed_in_a_row += 1
            if failed_in_a_row >= GIVE_UP_RUN_AFTER:
                break  # the server is away; the rest keep their turn for the next run
    if mails:
        deliver_mail(only=mails)  # the outbox tries them once now; its own job retries
    return delivered


def _deliver_one(notification_id: int, now: datetime, mails: list[int]) -> bool:
    note = db.session.execute(
        select(Notification.channel, Notification.recipient, Notification.subject, Notification.body,
               Notification.unsubscribe_url, Notification.incident_id, Notification.attempts,
               Subscriber.email.label("subscriber_email"))
        .outerjoin(Subscriber, Subscriber.id == Notification.subscriber_id)
        .where(Notification.id == notification_id)
    ).one()
    db.session.commit()
    recipient = note.subscriber_email or note.recipient
    error: str | None = None
    permanent = False
    reference = None
    if note.channel == "webhook":
        try:
            _status, answer = request_json("POST", recipient, json=json.loads(note.body), timeout=WEBHOOK_TIMEOUT)
            if isinstance(answer, dict):
                reference = answer.get("reference") or answer.get("id")
        except TransportError as exc:
            error, permanent = exc.message, exc.permanent
    begin_write()
    if note.channel == "email":
        headers = {"List-Unsubscribe": f"<{note.unsubscribe_url}>"} if note.unsubscribe_url else None
        try:
            mails.append(queue_mail(db.session, recipient, note.subject, note.body, headers=headers,
                                    at_once=False).id)
        except MailError as exc:  # personal data: sending would never help
            error, permanent = exc.message, exc.permanent
    values: dict = {"claimed_at": None, "claimed_by": None}
    if error is None:
        values["sent_at"] = now
    else:
        current_app.logger.warning("status notification %s not sent: %s", notification_id, error)
        values["last_error"] = error[:300]
        if permanent or note.attempts >= MAX_ATTEMPTS:
            values["failed_at"] = now
        else:
            values["next_attempt_at"] = now + min(timedelta(seconds=30 * 2 ** (note.attempts - 1)), LONGEST_BACKOFF)
    db.session.execute(update(Notification).where(Notification.id == notification_id).values(**values)
                       .execution_options(synchronize_session=False))
    if reference and note.incident_id is not None:
        db.session.execute(update(Incident).where(Incident.id == note.incident_id)
                           .values(servicedesk_reference=str(reference)[:80])
                           .execution_options(synchronize_session=False))
    db.session.commit()
    return error is None
