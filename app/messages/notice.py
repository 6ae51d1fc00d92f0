"""The e-mail that tells a recipient a message waits on My page: fixed text, never personal data."""
from __future__ import annotations


def new_message_mail(system_name: str) -> tuple[str, str]:
    """Return the subject and body of the new-message notice (seed 000, "Ta emot meddelande")."""
    subject = f"Du har ett nytt meddelande i {system_name}"
    body = f"Gå till 'Min sida' i {system_name} för att läsa meddelandet.\n"
    return subject, body
