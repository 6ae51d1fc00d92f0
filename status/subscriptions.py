"""E-mail subscription to status updates: double opt-in, and an unsubscribe link in every mail."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from core.clock import utcnow
from core.errors import ValidationFailed
from core.extensions import db
from core.store import begin_write
from status import notifications
from status.links import (
    CONFIRM_MAX_AGE, confirm_token, public_url, read_confirm_token, read_unsubscribe_token, token_matches,
)
from status.models import Subscriber

# Deliberately simple: the confirmation mail is the real check of the address.
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
RESEND_AFTER = timedelta(minutes=10)


def normalise_email(email: str) -> str:
    """Return the address trimmed and lower-cased, or raise ValidationFailed naming the field."""
    email = (email or "").strip().lower()
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise ValidationFailed.single("email", "Ange en giltig e-postadress.")
    return email


def request_subscription(email: str, now: datetime | None = None) -> None:
    """Send a confirmation link to the address; the answer never reveals whether it already subscribes."""
    now = now or utcnow()
    email = normalise_email(email)
    begin_write()
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
    if subscriber is not None and subscriber.confirmed_at is not None:
        return
    if subscriber is None:
        subscriber = Subscriber(email=email, created_at=now)
        db.session.add(subscriber)
        db.session.flush()
    elif subscriber.confirmation_sent_at and now - subscriber.confirmation_sent_at < RESEND_AFTER:
        return  # no mail bombing through the form
    subscriber.confirmation_sent_at = now
    url = public_url("status.confirm", token=confirm_token(subscriber.id, email))
    queued = notifications.queue_confirmation(subscriber, url, now)
    db.session.commit()
    notifications.deliver_due(now, only=queued)  # after the commit: the one mail the visitor waits for


def _subscriber(pair: tuple[int, str] | None) -> Subscriber | None:
    if pair is None:
        return None
    subscriber = db.session.get(Subscriber, pair[0])
    return subscriber if subscriber is not None and token_matches(pair, subscriber.email) else None


def confirmable(token: str) -> bool:
    """Return whether a confirmation link is valid (for the page that shows the confirm button)."""
    return _subscriber(read_confirm_token(token)) is not None


def confirm_subscription(token: str, now: datetime | None = None) -> bool:
    """Confirm the subscription the link belongs to; return False for an invalid or expired link."""
    begin_write()
    subscriber = _subscriber(read_confirm_token(token))
    if subscriber is None:
        return False
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = now or utcnow()
        db.session.commit()
    return True


def unsubscribable(token: str) -> bool:
    return _subscriber(read_unsubscribe_token(token)) is not None


def unsubscribe(token: str) -> bool:
    """Forget the subscriber the link belongs to (their queued mails go with them)."""
    begin_write()
    subscriber = _subscriber(read_unsubscribe_token(token))
    if subscriber is None:
        return False
    db.session.delete(subscriber)
    db.session.commit()
    return True


def forget_unconfirmed(now: datetime) -> int:
    """Delete addresses never confirmed within the link's lifetime; return how many."""
    begin_write()
    result = db.session.execute(delete(Subscriber).where(Subscriber.confirmed_at.is_(None),
                                                         Subscriber.created_at < now - CONFIRM_MAX_AGE))
    db.session.commit()
    return result.rowcount
