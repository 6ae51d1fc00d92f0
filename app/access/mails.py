"""The mails of the access flows, as plain text: subjects carry only the reference number, never a name,
and no mail ever carries a password."""
from __future__ import annotations

from collections.abc import Sequence

Mail = tuple[str, str]


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def received(system: str, ref: str, kind_label: str, workplace: str | None) -> Mail:
    """To the manager: an application naming them as responsible manager has arrived."""
    return (
        f"Ansökan om behörighet {ref} har tagits emot",
        _lines(
            f"En ansökan om behörighet till {system} där du anges som ansvarig chef har tagits emot.",
            "",
            f"Ärendenummer: {ref}",
            f"Ärende: {kind_label}",
            *( [f"Arbetsplats: {workplace}"] if workplace else [] ),
            "",
            "Du får ett nytt e-postmeddelande när ärendet är handlagt.",
            "Känner du inte till ansökan? Kontakta supporten och ange ärendenumret.",
        ),
    )


def account_created_to_user(system: str, ref: str, username: str, link: str, valid_days: int) -> Mail:
    """To the new user: their username, how to log in, and a single-use link to choose a password."""
    return (
        f"Din behörighet till {system} är klar ({ref})",
        _lines(
            f"Du har fått behörighet till {system} (ärende {ref}).",
            "",
            f"Ditt användarnamn: {username}",
            "",
            "Välj ditt lösenord via länken nedan. Länken kan bara användas en gång och gäller i "
            f"{valid_days} dagar:",
            link,
            "",
            "Lösenordet ska ha minst 12 tecken med både bokstäver och siffror.",
            "Användarnamn och lösenord får inte sparas i webbläsaren. Förvara dem så att ingen obehörig kommer åt dem.",
            "Om länken har gått ut: använd \"Glömt ditt lösenord?\" på inloggningssidan.",
        ),
    )


def account_created_to_manager(system: str, ref: str, username: str) -> Mail:
    """To the manager: the account exists; the user has their own mail with the instructions."""
    return (
        f"Ansökan om behörighet {ref} är beviljad",
        _lines(
            f"Ansökan {ref} om behörighet till {system} är beviljad.",
            "",
            f"Användarnamn: {username}",
            "",
            "Användaren har fått användarnamnet och instruktioner för inloggning med e-post och väljer själv "
            "sitt lösenord.",
            "Anmäl alltid förändringar (t.ex. tjänstledighet, namnbyte, byte av arbetsplats eller roll) och när "
            "anställningen upphör med blanketten för ändring av behörighet.",
        ),
    )


def change_done(system: str, ref: str, change_label: str, username: str) -> Mail:
    """To the user and the manager: a change of an account is carried out."""
    return (
        f"Ändring av behörighet {ref} är genomförd",
        _lines(
            f"Ändringen ({change_label.lower()}) i ärende {ref} är genomförd i {system}.",
            "",
            f"Användarnamn: {username}",
        ),
    )


def termination_done(system: str, ref: str, username: str) -> Mail:
    """To the manager: the account can no longer log in."""
    return (
        f"Avslut av behörighet {ref} är genomfört",
        _lines(
            f"Behörigheten till {system} för användarnamnet {username} är avslutad (ärende {ref}).",
            "Kontot kan inte längre logga in.",
        ),
    )


def returned_to_manager(system: str, ref: str, missing_labels: Sequence[str], comment: str | None, link: str,
                        valid_days: int) -> Mail:
    """To the manager: the application lacks something; a single-use link opens it for completion."""
    return (
        f"Ansökan om behörighet {ref} behöver kompletteras",
        _lines(
            f"Ansökan {ref} om behörighet till {system} är inte komplett och returneras till dig som ansvarig chef.",
            "",
            *(["Det här saknas eller behöver rättas:", *(f"- {label}" for label in missing_labels), ""]
              if missing_labels else []),
            *([f"Kommentar från handläggaren: {comment}", ""] if comment else []),
            f"Komplettera ansökan via länken nedan. Länken kan bara användas en gång och gäller i {valid_days} dagar:",
            link,
        ),
    )


def rejected(system: str, ref: str, reason: str) -> Mail:
    """To the manager and the applicant: the application is refused, and why."""
    return (
        f"Ansökan om behörighet {ref} är avslagen",
        _lines(
            f"Ansökan {ref} om behörighet till {system} är avslagen.",
            "",
            f"Motivering: {reason}",
            "",
            "Kontakta supporten om du har frågor och ange ärendenumret.",
        ),
    )


def password_reset(system: str, username: str, link: str, valid_minutes: int) -> Mail:
    """To the account's address: a single-use link to choose a new password."""
    return (
        f"Återställ ditt lösenord i {system}",
        _lines(
            f"Någon har begärt ett nytt lösenord för användarnamnet {username} i {system}.",
            "",
            f"Välj ett nytt lösenord via länken nedan. Länken kan bara användas en gång och gäller i {valid_minutes} "
            "minuter:",
            link,
            "",
            "Har du inte begärt ett nytt lösenord kan du bortse från det här meddelandet; ditt lösenord är oförändrat.",
        ),
    )
