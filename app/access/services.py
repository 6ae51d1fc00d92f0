"""Access-application use cases of the applicant: submit, complete a returned one; and the report.

The admin's decisions are in app.access.decisions. Mails go out only after the commit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.access import mails, tokens
from app.access.models import AccessApplication
from app.access.rules import (
    FIELD_LABELS, USERNAME, ChangeType, Kind, Status, TokenPurpose, missing_fields, parse_customer_numbers,
)
from core.auth.roles import Role
from core.clock import to_local, utcnow
from core.errors import DomainError, FieldError, ValidationFailed
from core.extensions import db
from core.mail import PersonalDataInMail
from core.mail_outbox import queue_mail as queue_outgoing_mail
from core.models import PrescribingUnit, ProductArea, User, user_units
from app.mypage.forms import EMAIL_PATTERN, PHONE_PATTERN
from core.store import begin_write

TEXT_MAX = 150
NOTE_MAX = 1000
HSA_ID = re.compile(r"^[A-Za-z0-9-]{1,40}$")


class LinkInvalid(DomainError):
    """The link's token is unknown, used or expired."""

    status = 410


@dataclass(frozen=True)
class ApplicationInput:
    """What the applicant wrote on the form; every field a string or a date, checked by the service."""

    kind: str
    name: str = ""
    email: str = ""
    phone: str = ""
    hsa_id: str = ""
    workplace: str = ""
    role: str = ""
    product_areas: tuple[str, ...] = ()  # product area codes
    units: str = ""  # customer numbers as written
    username: str = ""
    change_type: str = ""
    new_name: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    manager_name: str = ""
    manager_email: str = ""
    manager_phone: str = ""
    note: str = ""


@dataclass(frozen=True)
class _Checked:
    values: dict
    areas: list[ProductArea]
    units: list[PrescribingUnit]


def system_name() -> str:
    return current_app.config["SYSTEM_NAME"]


def _check(data: ApplicationInput) -> _Checked:
    """Return the application's cleaned values, or raise ValidationFailed naming every field at fault."""
    values = {f.name: getattr(data, f.name) for f in fields(data)}
    for name, value in values.items():
        if isinstance(value, str):
            values[name] = value.strip()
    errors: list[FieldError] = []
    try:
        kind = Kind(values["kind"])
    except ValueError:
        raise ValidationFailed.single("kind", "Välj vad ansökan gäller.") from None
    change_type = None
    if values["change_type"]:
        try:
            change_type = ChangeType(values["change_type"])
        except ValueError:
            errors.append(FieldError("change_type", "Okänd typ av ändring."))
    if values["role"] and values["role"] not in {r.value for r in Role}:
        errors.append(FieldError("role", "Okänd roll."))
    values["username"] = values["username"].lower()
    for name in missing_fields(values, kind, change_type, values["role"] or None):
        errors.append(FieldError(name, f"{FIELD_LABELS[name]} är obligatoriskt."))
    errors += _format_errors(values)
    areas = _areas(values["product_areas"], errors)
    units = _units(values["units"], errors)
    if values["starts_on"] and values["ends_on"] and values["ends_on"] < values["starts_on"]:
        errors.append(FieldError("ends_on", "Till och med kan inte vara före från och med."))
    if errors:
        raise ValidationFailed(_first_per_field(errors))
    values["kind"], values["change_type"] = kind.value, change_type.value if change_type else None
    return _Checked(values, areas, units)


def _format_errors(values: dict) -> list[FieldError]:
    errors = []
    for name in ("name", "new_name", "workplace", "manager_name"):
        if len(values[name]) > TEXT_MAX:
            errors.append(FieldError(name, f"{FIELD_LABELS[name]}: högst {TEXT_MAX} tecken."))
    for name in ("email", "manager_email"):
        if values[name] and (len(values[name]) > 254 or not re.match(EMAIL_PATTERN, values[name])):
            errors.append(FieldError(name, f"{FIELD_LABELS[name]}: ange en e-postadress, t.ex. namn@region.se."))
    for name in ("phone", "manager_phone"):
        if values[name] and not re.match(PHONE_PATTERN, values[name]):
            errors.append(FieldError(name, f"{FIELD_LABELS[name]}: ange ett telefonnummer med siffror."))
    if values["hsa_id"] and not HSA_ID.match(values["hsa_id"]):
        errors.append(FieldError("hsa_id", "HSA-id: bokstäver, siffror och bindestreck, högst 40 tecken."))
    if values["username"] and not USERNAME.match(values["username"]):
        errors.append(FieldError("username", "Användarnamn: 3–64 tecken, små bokstäver a–z, siffror, . _ -"))
    if len(values["note"]) > NOTE_MAX:
        errors.append(FieldError("note", f"Övrigt: högst {NOTE_MAX} tecken."))
    return errors


def _areas(codes: tuple[str, ...], errors: list[FieldError]) -> list[ProductArea]:
    if not codes:
        return []
    areas = list(db.session.scalars(select(ProductArea).where(ProductArea.code.in_(codes))))
    if len(areas) != len(set(codes)):
        errors.append(FieldError("product_areas", "Okänt produktområde."))
    return areas


def _units(text: str, errors: list[FieldError]) -> list[PrescribingUnit]:
    numbers, malformed = parse_customer_numbers(text)
    if malformed:
        errors.append(FieldError("units", f"Kundnummer består av siffror: {', '.join(malformed[:5])}."))
        return []
    if len(numbers) > 50:
        errors.append(FieldError("units", "Högst 50 kundnummer per ansökan."))
        return []
    units = list(db.session.scalars(select(PrescribingUnit).where(PrescribingUnit.customer_number.in_(numbers))))
    unknown = sorted(set(numbers) - {u.customer_number for u in units})
    if unknown:
        errors.append(FieldError("units", f"Kundnummer som inte finns: {', '.join(unknown[:5])}."))
    return units


def _first_per_field(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[str, FieldError] = {}
    for error in errors:
        seen.setdefault(error.field, error)
    return list(seen.values())


def _fill(application: AccessApplication, checked: _Checked) -> None:
    for name, value in checked.values.items():
        if name in ("product_areas", "units"):
            continue
        setattr(application, name, value if value != "" else None)
    application.product_areas = checked.areas
    application.units = checked.units


def submit_application(data: ApplicationInput) -> AccessApplication:
    """Store a complete application from the public form and tell the manager it has arrived."""
    begin_write()
    checked = _check(data)
    application = AccessApplication(status=Status.SUBMITTED.value)
    _fill(application, checked)
    db.session.add(application)
    db.session.flush()
    subject, body = mails.received(system_name(), application.reference, application.kind_enum.label,
                                   application.workplace)
    queue_mail(application.manager_email, subject, body, field="workplace")
    db.session.commit()
    current_app.logger.info("access application %s submitted", application.reference)
    return application


def application_for_completion(token: str) -> AccessApplication:
    """Return the returned application a manager's completion link opens, or raise LinkInvalid."""
    row = tokens.find_usable(token, (TokenPurpose.COMPLETE_APPLICATION,))
    application = row.application if row else None
    if application is None or application.status != Status.RETURNED.value:
        raise LinkInvalid("Länken är ogiltig, redan använd eller har gått ut.")
    return application


def complete_application(token: str, data: ApplicationInput) -> AccessApplication:
    """Replace a returned application's contents with the completed ones and submit it again."""
    begin_write()
    row = tokens.find_usable(token, (TokenPurpose.COMPLETE_APPLICATION,))
    application = row.application if row else None
    if application is None or application.status != Status.RETURNED.value:
        db.session.rollback()
        raise LinkInvalid("Länken är ogiltig, redan använd eller har gått ut.")
    checked = _check(ApplicationInput(**{**_as_dict(data), "kind": application.kind}))
    if not tokens.consume(row):
        db.session.rollback()
        raise LinkInvalid("Länken är redan använd.")
    _fill(application, checked)
    application.status, application.missing = Status.SUBMITTED.value, None
    application.submitted_at = utcnow()
    db.session.commit()
    current_app.logger.info("access application %s completed and submitted again", application.reference)
    return application


def _as_dict(data: ApplicationInput) -> dict:
    return {f.name: getattr(data, f.name) for f in fields(data)}


def queue_mail(to: str | None, subject: str, body: str, field: str = "decision_note") -> None:
    """Send the mail after commit; a text that looks like it holds a personnummer is refused on `field`."""
    if not to:
        return
    try:
        queue_outgoing_mail(db.session, to, subject, body)
    except PersonalDataInMail:
        db.session.rollback()
        raise ValidationFailed.single(field, "Texten ser ut att innehålla ett personnummer; ta bort det.") from None


def users_per_unit(include_inactive: bool = False) -> Select:
    """Return (unit, user) pairs: every user with a customer relation, per prescribing unit."""
    query = (
        select(PrescribingUnit, User)
        .join(user_units, user_units.c.unit_id == PrescribingUnit.id)
        .join(User, User.id == user_units.c.user_id)
        .options(selectinload(User.product_areas), selectinload(User.role_rows))
    )
    if not include_inactive:
        query = query.where(User.active.is_(True))
    return query.order_by(PrescribingUnit.customer_number, User.name, User.username)


def report_rows(include_inactive: bool = False) -> list[tuple]:
    """Return the CSV rows of the users-per-unit report."""
    rows = []
    for unit, user in db.session.execute(users_per_unit(include_inactive)):
        rows.append((
            unit.customer_number, unit.name, user.username, user.name, user.hsa_id or "",
            ", ".join(sorted(role.label for role in user.roles)),
            ", ".join(sorted(area.name for area in user.product_areas)),
            user.email or "", user.phone or "", user.workplace or "", "Ja" if user.active else "Nej",
            to_local(user.last_login_at).strftime("%Y-%m-%d %H:%M") if user.last_login_at else "",
        ))
    return rows
