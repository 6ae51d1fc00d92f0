"""Manual capture during the outage (seed 004): acute prescriptions, orders to care units, stock
moves and work orders, phoned in, e-mailed or written on paper.

Each item is checked against the local store, gets a reserve number, is flagged (never merged)
when it may duplicate an earlier one, and is written to the sync engine's outbox in the same
transaction, waiting for hms_staff's review before it is sent. A captured item is never
changed: a wrong one is cancelled and captured again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.auth.roles import Permission
from core.clock import local_today
from core.authority import prescribing_errors
from core.errors import DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import (
    ROW_ACTIVE, Article, Patient, PrescribingUnit, PrescriptionRow, User,
    Warehouse,
)
from core.privacy.personnummer import InvalidPersonnummer, validate_personnummer
from core.store import begin_write
from reserve import numbers
from reserve.models import ReserveItem
from reserve.outbox import cancel_registration, capture_registration
from reserve.rules import (
    CANCELLED, CAPTURED, KIND_LABELS, PRESCRIPTION, STOCK_MOVE, CaptureInput, Comparable, check_shape,
    format_reserve_number, parse_reserve_number, possible_duplicate, priority_of,
)
from reserve.runbooks import Runbook
from status import readmodel
from status.readmodel import IncidentView
from sync.registration import register

MAX_REASON = 500


class CaptureNotAllowed(DomainError):
    """Capture needs the reserve routine, or a scenario whose runbook permits it for the role."""


@dataclass(frozen=True)
class Capture:
    item: ReserveItem
    duplicate_of: ReserveItem | None
    existing_row: PrescriptionRow | None

    @property
    def warnings(self) -> list[str]:
        notes = []
        if self.duplicate_of is not None:
            notes.append(f"Möjlig dubblett av {self.duplicate_of.reserve_number} "
                         f"({KIND_LABELS[self.duplicate_of.kind].lower()}, registrerad "
                         f"{self.duplicate_of.captured_at:%H:%M} UTC). Kontrollera innan efterregistreringen.")
        if self.existing_row is not None:
            notes.append("Patienten har redan en aktiv förskrivningsrad för artikeln i den lokala databasen "
                         f"(förskrivning {self.existing_row.prescription.number}).")
        return notes


def capture_incident(actor: User, kind: str, runbooks: dict[str, Runbook]) -> IncidentView:
    """Return the incident a capture by the actor belongs to, or refuse when none permits it.

    The reserve routine permits capture for everyone with the capture permission; before it
    applies (or in another scenario) only the roles and kinds the open scenario's runbook names.
    """
    if not actor.can(Permission.CAPTURE_RESERVE_ITEMS):
        raise Forbidden("Du saknar behörighet att registrera reservärenden.")
    open_incidents = readmodel.open_incidents()
    if open_incidents and open_incidents[0].reserve_active:
        return open_incidents[0]
    roles = frozenset(role.value for role in actor.roles)
    for incident in open_incidents:
        runbook = runbooks.get(incident.scenario)
        if runbook is not None and runbook.permits_capture_without_reserve(roles, kind):
            return incident
    if open_incidents:
        raise CaptureNotAllowed(f"Reservrutinen gäller inte ännu. Under den pågående störningen får du inte "
                                f"registrera {KIND_LABELS.get(kind, kind).lower()} här; följ checklistan och "
                                "hänvisa till driftinfo.", field="kind")
    raise CaptureNotAllowed("Reservrutinen gäller inte och ingen driftstörning pågår. Registrera i huvudsystemet "
                            "som vanligt.", field="kind")


@dataclass
class Resolved:
    patient: Patient | None = None
    unit: PrescribingUnit | None = None
    article: Article | None = None
    prescriber: User | None = None
    warehouse_number: int | None = None  # a stock move's receiving municipal stock


def _resolve(data: CaptureInput) -> tuple[Resolved, list[FieldError]]:
    """Look the item's references up in the local store; collect every problem."""
    found, errors = Resolved(), []
    if data.patient:
        try:
            personnummer = validate_personnummer(data.patient)
        except InvalidPersonnummer as exc:
            errors.append(FieldError("patient", str(exc)))
        else:
            found.patient = db.session.scalar(select(Patient).where(Patient.personnummer == personnummer))
            if found.patient is None:
                errors.append(FieldError("patient", "Patienten finns inte i den lokala databasen. Sök fram "
                                                    "patienten när huvudsystemet fungerar, eller anteckna på papper."))
    if data.unit:
        found.unit = db.session.scalar(select(PrescribingUnit).where(PrescribingUnit.customer_number == data.unit))
        if found.unit is None:
            errors.append(FieldError("unit", f"Ingen enhet har kundnummer {data.unit}."))
    if data.article:
        found.article = db.session.scalar(select(Article).where(Article.number == data.article))
        if found.article is None or not found.article.is_active:
            errors.append(FieldError("article", f"Artikel {data.article} finns inte."))
            found.article = None
    if data.responsible_prescriber:
        ref = data.responsible_prescriber
        found.prescriber = db.session.scalar(select(User).where(or_(User.username == ref.lower(), User.hsa_id == ref)))
        if found.prescriber is None or not found.prescriber.active or not found.prescriber.can(Permission.PRESCRIBE):
            errors.append(FieldError("responsible_prescriber", f"{ref} är ingen aktiv förskrivare."))
            found.prescriber = None
    return found, errors


def _domain_errors(data: CaptureInput, found: Resolved) -> list[FieldError]:
    """Check the item against the local store: authority, payer, customer relation, stock."""
    errors: list[FieldError] = []
    article, unit, prescriber = found.article, found.unit, found.prescriber
    if data.kind == PRESCRIPTION and article is not None:
        errors += prescribing_errors(prescriber, unit, article, prescriber_field="responsible_prescriber")
    if data.kind == STOCK_MOVE and unit is not None:
        found.warehouse_number = db.session.scalar(select(Warehouse.number).where(
            Warehouse.unit_id == unit.id, Warehouse.kind == "municipal").order_by(Warehouse.number).limit(1))
        if found.warehouse_number is None:
            errors.append(FieldError("unit", f"{unit.name} har inget kommunlager; en lagerflytt går från lager 10 "
                                             "till ett kommunlager."))
    return errors


def capture(actor: User, data: CaptureInput, runbooks: dict[str, Runbook], now: datetime,
            replaces: ReserveItem | None = None) -> Capture:
    """Validate, number, flag and save one captured item with its outbox entry; nothing is saved on error."""
    errors = check_shape(data)
    if errors:
        raise ValidationFailed(errors)
    begin_write()
    try:
        incident = capture_incident(actor, data.kind, runbooks)
        found, errors = _resolve(data)
        errors += _domain_errors(data, found)
        if errors:
            raise ValidationFailed(errors)
        if data.reserve_number:
            number = numbers.use_printed(parse_reserve_number(data.reserve_number), now)  # type: ignore[arg-type]
        else:
            number = numbers.take_free(now)
        item = ReserveItem(
            number=number, kind=data.kind, channel=data.channel, status=CAPTURED, priority=priority_of(data.kind),
            incident_id=incident.id, patient_id=found.patient.id if found.patient else None,
            unit_id=found.unit.id if found.unit else None, article_id=found.article.id if found.article else None,
            packages=data.packages, responsible_prescriber_id=found.prescriber.id if found.prescriber else None,
            work_order_type=data.work_order_type or None, note=(data.note or "").strip() or None,
            captured_by_id=actor.id, captured_at=now, replaces_id=replaces.id if replaces else None)
        earlier = list(db.session.scalars(select(ReserveItem).where(
            ReserveItem.incident_id == incident.id, ReserveItem.status == CAPTURED,
            ReserveItem.article_id == item.article_id).order_by(ReserveItem.captured_at, ReserveItem.id)))
        match = possible_duplicate(_comparable(item), [_comparable(e) for e in earlier])
        item.duplicate_of = next((e for e in earlier if match and e.id == match.id), None)
        existing_row = _active_row(found) if data.kind == PRESCRIPTION else None
        item.existing_row_id = existing_row.id if existing_row else None
        db.session.add(item)
        db.session.flush()
        item.outbox_key = register(capture_registration(item, found, actor)).key
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if found.patient is not None:
        mark_displayed(actor.id, [found.patient.id], AccessAction.SEARCH, "reserve.capture")
    return Capture(item, item.duplicate_of, existing_row)


def _comparable(item: ReserveItem) -> Comparable:
    return Comparable(id=item.id or 0, kind=item.kind, patient_id=item.patient_id, unit_id=item.unit_id,
                      article_id=item.article_id)


def _active_row(found: Resolved) -> PrescriptionRow | None:
    if found.patient is None or found.article is None:
        return None
    return db.session.scalar(select(PrescriptionRow).where(
        PrescriptionRow.patient_id == found.patient.id, PrescriptionRow.article_id == found.article.id,
        PrescriptionRow.status == ROW_ACTIVE, PrescriptionRow.valid_until >= local_today()))


def get_item(number: str | int) -> ReserveItem:
    value = number if isinstance(number, int) else parse_reserve_number(number)
    item = db.session.scalar(select(ReserveItem).where(ReserveItem.number == value)) if value else None
    if item is None:
        raise NotFound("Reservärendet finns inte.", field="reserve_number")
    return item


def cancel(actor: User, number: str | int, reason: str, now: datetime) -> ReserveItem:
    """Cancel (makulera) a captured item.

    While the main server cannot have it yet, its outbox item is cancelled too (audited by the
    sync engine). An acute prescription it may already have gets a cancellation sent after it;
    other kinds are then cancelled in the main server by hand.
    """
    from sync import outbox

    if not actor.can(Permission.CAPTURE_RESERVE_ITEMS):
        raise Forbidden("Du saknar behörighet att makulera reservärenden.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.single("reason", "Ange varför ärendet makuleras.")
    if len(reason) > MAX_REASON:
        raise ValidationFailed.single("reason", f"Högst {MAX_REASON} tecken.")
    begin_write()
    try:
        item = db.session.get(ReserveItem, get_item(number).id, with_for_update=True, populate_existing=True)
        if item.status == CANCELLED:
            raise DomainError(f"{item.reserve_number} är redan makulerat.", field="reserve_number")
        item.status, item.cancelled_at, item.cancelled_by_id, item.cancel_reason = CANCELLED, now, actor.id, reason
        if item.outbox_key is not None:
            _cancel_in_outbox(outbox, item, actor, reason, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def _cancel_in_outbox(outbox, item: ReserveItem, actor: User, reason: str, now: datetime) -> None:  # noqa: ANN001
    try:
        outbox.cancel(item.outbox_key, actor_id=actor.id, note=f"Makulerad i reservrutinen: {reason}", now=now)
        return
    except DomainError:
        pass  # the main server may already have it
    if item.kind != PRESCRIPTION:
        raise DomainError(f"{item.reserve_number} kan redan vara registrerat i huvudsystemet och kan inte makuleras "
                          "här. Makulera det i huvudsystemet.", field="reserve_number")
    register(cancel_registration(item, actor, reason, now))


def refuse_change(item: ReserveItem, changes: dict) -> None:
    """Refuse any change of a captured item, naming the field (seed 004: cancel and capture again)."""
    if "work_order_type" in changes and changes["work_order_type"] != item.work_order_type:
        raise ValidationFailed.single(
            "work_order_type", "Arbetsordertypen väljs när arbetsordern registreras och kan inte ändras. Makulera "
                               f"{item.reserve_number} och registrera en ny arbetsorder med rätt typ.", status=409)
    for name, value in changes.items():
        if value != getattr(item, name, None):
            raise ValidationFailed.single(name, f"Ett registrerat reservärende ändras inte. Makulera "
                                                f"{item.reserve_number} och registrera det på nytt.", status=409)


def mark_registered(reserve_number: str, main_server_id: str | None, at: datetime) -> bool:
    """Record that the main server registered a captured item; the caller (the sync engine, when
    the main server acknowledges it) commits. Return whether anything changed."""
    value = parse_reserve_number(reserve_number)
    if value is None:
        return False
    item = db.session.scalar(select(ReserveItem).where(ReserveItem.number == value))
    if item is None or item.registered_at is not None:
        return False
    item.registered_at, item.main_server_id = at, main_server_id
    return True


__all__ = ["Capture", "CaptureNotAllowed", "cancel", "capture", "capture_incident", "format_reserve_number",
           "get_item", "mark_registered", "refuse_change"]
