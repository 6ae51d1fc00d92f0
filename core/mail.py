"""Send e-mail through SMTP: the one way the application sends mail.

No personal data ever goes into a mail (SPEC section 7): `send_mail` refuses a subject or
body that carries a personnummer in any written form or a patient's name or street address
(core.privacy.screening). Nobody sends directly: every mail is queued in the outbox
(core.mail_outbox.queue_mail) in the transaction of its change, and the outbox sends it with
`send_mail` after the commit, retrying later if the SMTP server is away.
"""
from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

from core.privacy.screening import personal_data_in


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


def new_message_id(sender: str) -> str:
    """Return a fresh Message-ID in the sender's domain."""
    return make_msgid(idstring=uuid.uuid4().hex[:12], domain=sender.rpartition("@")[2] or None)


def build_message(sender: str, to: str, subject: str, body: str,
                  headers: Mapping[str, str] | None = None, *, screened: bool = False,
                  message_id: str | None = None) -> EmailMessage:
    """Return the plain-text message, or raise PersonalDataInMail unless it was screened already."""
    found = None if screened else personal_data_in(subject, body)
    if found is not None:
        raise PersonalDataInMail(found.value)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or new_message_id(sender)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def send_mail(to: str, subject: str, body: str, *, headers: Mapping[str, str] | None = None,
              screened: bool = False, message_id: str | None = None) -> str:
    """Send one plain-text mail through the configured SMTP server now; return its Message-ID.

    Only the outbox (core.mail_outbox) calls this: everything else queues its mail there.
    """
    config = current_app.config
    message = build_message(config["MAIL_FROM"], to, subject, body, headers, screened=screened,
                            message_id=message_id)
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
