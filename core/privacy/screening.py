"""The one check every door uses: does a free text carry personal data?

A personnummer or samordningsnummer in any written form (core.privacy.detection), or a
patient's full name or street address as held in the store (core.privacy.mentions).
Outside an application context (pure rules under unit test) only the personnummer is
checked: there is no store to ask.

Cost: one query on the (last_name, first_name) index for the names and, only when the text
holds a word followed by a house number, one query for the streets (no index: it reads the
patients table). Measured in tests/service/reserve/test_personal_data_screen.py: a 2000-character
text against 1000 patients, 14 ms on SQLite and 26 ms on PostgreSQL on a loaded machine, of
which the two queries about 2 ms each.
"""
from __future__ import annotations

from enum import Enum

from flask import has_app_context
from sqlalchemy import or_, select

from core.errors import FieldError, ValidationFailed
from core.extensions import db
from core.models import Patient
from core.privacy import mentions
from core.privacy.detection import contains_personnummer

# SQLite allows 32766 bound parameters; a 5000-character text has far fewer distinct words.
MAX_LOOKUP_WORDS = 4000


class PersonalData(str, Enum):
    PERSONNUMMER = "personnummer"
    NAME = "name"
    ADDRESS = "address"

    @property
    def sentence(self) -> str:
        return SENTENCES[self]


SENTENCES = {
    PersonalData.PERSONNUMMER: "Texten innehåller ett personnummer eller samordningsnummer.",
    PersonalData.NAME: "Texten innehåller en patients namn.",
    PersonalData.ADDRESS: "Texten innehåller en patients adress.",
}


def personal_data_in(*texts: str | None) -> PersonalData | None:
    """Return which kind of personal data the texts carry, or None if they carry none."""
    texts_ = [text for text in texts if text and text.strip()]
    if not texts_:
        return None
    if contains_personnummer(*texts_):
        return PersonalData.PERSONNUMMER
    if not has_app_context():
        return None
    joined = "\n".join(texts_)
    if _names_a_patient(joined):
        return PersonalData.NAME
    if _mentions_a_patients_street(joined):
        return PersonalData.ADDRESS
    return None


def personal_data_error(field: str, text: str | None, why: str) -> FieldError | None:
    """Return the field's error if its text carries personal data: what was found, then why it may not."""
    found = personal_data_in(text)
    return FieldError(field, f"{found.sentence} {why}") if found else None


def refuse_personal_data(why: str, **fields: str | None) -> None:
    """Raise ValidationFailed naming every field whose text carries personal data."""
    errors = [error for name, text in fields.items() if (error := personal_data_error(name, text, why))]
    if errors:
        raise ValidationFailed(errors)


def _names_a_patient(text: str) -> bool:
    surnames = sorted(mentions.surname_candidates(text))[:MAX_LOOKUP_WORDS]
    if not surnames:
        return False
    rows = db.session.execute(
        select(Patient.first_name, Patient.last_name).where(Patient.last_name.in_(surnames))
    ).all()
    return any(mentions.names_patient(text, first, last) for first, last in rows)


def _mentions_a_patients_street(text: str) -> bool:
    streets = sorted(mentions.street_candidates(text))[:MAX_LOOKUP_WORDS]
    if not streets:
        return False
    # Streets have no index: the query reads the patients table once (see the module docstring).
    match = db.session.scalar(
        select(Patient.id).where(or_(Patient.registered_street.in_(streets),
                                     Patient.delivery_street.in_(streets))).limit(1)
    )
    return match is not None
