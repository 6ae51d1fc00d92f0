"""Rules of access applications (seed 003) as plain functions: no Flask, no database.

Which fields an application must carry depends on what it asks for: a new account, a
change (leave, return from leave, name, workplace, role) or a termination.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum


class Kind(str, Enum):
    NEW = "new"
    CHANGE = "change"
    TERMINATION = "termination"

    @property
    def label(self) -> str:
        return {"new": "Ny behörighet", "change": "Ändring", "termination": "Avslut"}[self.value]


class ChangeType(str, Enum):
    LEAVE = "leave"
    RETURN = "return"
    NAME = "name"
    WORKPLACE = "workplace"
    ROLE = "role"

    @property
    def label(self) -> str:
        return CHANGE_LABELS[self]


CHANGE_LABELS = {
    ChangeType.LEAVE: "Tjänstledighet",
    ChangeType.RETURN: "Åter från tjänstledighet",
    ChangeType.NAME: "Namnbyte",
    ChangeType.WORKPLACE: "Byte av arbetsplats",
    ChangeType.ROLE: "Byte av roll",
}


class Status(str, Enum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"submitted": "Inkommen", "returned": "Returnerad för komplettering", "approved": "Beviljad",
                "rejected": "Avslagen"}[self.value]


class TokenPurpose(str, Enum):
    SET_PASSWORD = "set_password"  # sent with a new account
    RESET_PASSWORD = "reset_password"  # "Glömt ditt lösenord?"
    COMPLETE_APPLICATION = "complete_application"  # the manager's link to a returned application


# The Swedish names of the fields, used in error messages and in the mail that returns an application.
FIELD_LABELS = {
    "kind": "Ärende",
    "username": "Användarnamn",
    "change_type": "Ändringen gäller",
    "name": "Namn",
    "new_name": "Nytt namn",
    "hsa_id": "HSA-id",
    "email": "E-post",
    "phone": "Telefon",
    "workplace": "Arbetsplats",
    "role": "Roll",
    "product_areas": "Produktområden",
    "units": "Kundnummer (förskrivande enheter)",
    "starts_on": "Från och med",
    "ends_on": "Till och med",
    "manager_name": "Ansvarig chefs namn",
    "manager_email": "Ansvarig chefs e-post",
    "manager_phone": "Ansvarig chefs telefon",
    "note": "Övrigt",
}

PRESCRIBER = "prescriber"
_ALWAYS = ("name", "manager_name", "manager_email")
_PER_CHANGE = {
    ChangeType.LEAVE: ("starts_on",),
    ChangeType.RETURN: (),
    ChangeType.NAME: ("new_name",),
    ChangeType.WORKPLACE: ("workplace", "units"),
    ChangeType.ROLE: ("role",),
}


def required_fields(kind: Kind, change_type: ChangeType | None = None, role: str | None = None) -> tuple[str, ...]:
    """Return the fields an application of this kind must have filled in."""
    if kind is Kind.NEW:
        fields = _ALWAYS + ("email", "phone", "workplace", "role")
        if role == PRESCRIBER:
            fields += ("product_areas", "units")  # prescribing rights per area, for units (kunder)
        return fields
    if kind is Kind.TERMINATION:
        return _ALWAYS + ("username",)
    fields = _ALWAYS + ("username", "change_type")
    if change_type is not None:
        fields += _PER_CHANGE[change_type]
        if change_type is ChangeType.ROLE and role == PRESCRIBER:
            fields += ("product_areas",)
    return fields


_OPTIONAL = {
    Kind.NEW: ("hsa_id", "product_areas", "units", "manager_phone"),
    Kind.CHANGE: ("email", "phone", "ends_on", "product_areas", "units"),
    Kind.TERMINATION: ("ends_on",),
}


def returnable_fields(kind: Kind, change_type: ChangeType | None = None, role: str | None = None) -> list[str]:
    """Return the fields an admin may mark as missing on such an application, in form order."""
    chosen = set(required_fields(kind, change_type, role)) | set(_OPTIONAL[kind])
    return [name for name in FIELD_LABELS if name in chosen]


def missing_fields(values: Mapping[str, object], kind: Kind, change_type: ChangeType | None = None,
                   role: str | None = None) -> list[str]:
    """Return the required fields that are empty, in form order."""
    return [name for name in required_fields(kind, change_type, role) if _empty(values.get(name))]


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) == 0
    return False


CUSTOMER_NUMBER = re.compile(r"^\d{4,20}$")


def parse_customer_numbers(text: str) -> tuple[list[str], list[str]]:
    """Return the customer numbers written in the text (comma, semicolon or space separated) and any malformed."""
    parts = [p for p in re.split(r"[\s,;]+", text or "") if p]
    good, bad = [], []
    for part in parts:
        (good if CUSTOMER_NUMBER.match(part) else bad).append(part)
    return list(dict.fromkeys(good)), bad


USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")


def suggest_username(name: str, taken: Iterable[str]) -> str:
    """Return a free username from the name: three letters of the first and of the last name, then digits."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = [w for w in re.split(r"[^a-z]+", ascii_name) if w]
    if not words:
        base = "anv"
    elif len(words) == 1:
        base = words[0][:6]
    else:
        base = words[0][:3] + words[-1][:3]
    base = base if len(base) >= 3 else (base + "anv")[:3]
    taken = {t.lower() for t in taken}
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def token_usable(expires_at: datetime, used_at: datetime | None, now: datetime) -> bool:
    """Return whether a single-use token may still be used at this moment."""
    return used_at is None and now < expires_at


def reference(application_id: int) -> str:
    """Return the application's reference number, the only thing about it a mail subject may carry."""
    return f"BEH-{application_id:06d}"
