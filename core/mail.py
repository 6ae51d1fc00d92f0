"""Send e-mail through SMTP: the one way the application sends mail.

No personal data ever goes into a mail (SPEC section 7): `send_mail` refuses a subject or
body that carries a personnummer in any written form or a patient's name or street address
(core.privacy.screening). Mail triggered by a change is sent
after the transaction that made the change commits: use `send_after_commit`, or an outbox
table whose rows are delivered after their commit (as the status monitor does).
"""
from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.privacy.screening import personal_data_in

_PENDING = "core.mail.pending"


class MailError(Exception):
    """Sending failed; `permanent` says whether trying again later can help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class PersonalDataInMail(MailError):
    def __init__(self, kind: str = "personnummer") -> None:
        super().__init__(f"the message looks like it contains personal data ({kind})", permanent=True)


def contains_personal_data(*texts: str | None) -> bool:
    """Return whether any text holds a personnummer, or (with a store) a patient's name or address."""
    return personal_data_in(*texts) is not None


def build_message(sender: str, to: str, subject: str, body: str,
                  headers: Mapping[str, str] | None = None, *, screened: bool = False) -> EmailMessage:
    """Return the plain-text message, or raise PersonalDataInMail unless it was screened already."""
    found = None if screened else personal_data_in(subject, body)
    if found is not None:
        raise PersonalDataInMail(found.value)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=sender.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def send_mail(to: str, subject: str, body: str, *, headers: Mapping[str, str] | None = None,
              screened: bool = False) -> str:
    """Send one plain-text mail through the configured SMTP server; return its Message-ID."""
    config = current_app.config
    message = build_message(config["MAIL_FROM"], to, subject, body, headers, screened=screened)
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=float(config["MAIL_TIMEOUT"])) as smtp:
            if config.get("MAIL_USE_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise MailError("recipient refused", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"SMTP unreachable ({type(exc).__name__})") from None
    return str(message["Message-ID"])


def send_after_commit(session: Session, to: str, subject: str, body: str) -> None:
    """Send the mail once the session's transaction commits; a rollback drops it.

    The message is checked now, so a mail with personal data fails the caller, not the commit.
    """
    build_message("check@localhost", to, subject, body)
    session.connection()  # make sure there is a transaction whose end decides
    session.info.setdefault(_PENDING, []).append((to, subject, body))


# Registered once, when the module loads, so two first mails in two threads can't register twice.
@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for to, subject, body in pending:
        try:
            # Screened when queued: after the commit the session may not query the store again.
            send_mail(to, subject, body, screened=True)
        except MailError as exc:
            current_app.logger.warning("mail after commit not sent: %s", exc.message)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:  # noqa: ANN001
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_PENDING, None)
