"""Prescribing use cases: new prescription, cancel, copy/correct. One function per use case.

Every write happens here, so the sync engine can add its outbox entry in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from core.auth.roles import Permission
from core.clock import local_today, utcnow
from core.errors import DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import (
    ROW_ACTIVE, ROW_CANCELLED, ROW_EXPIRED, Article, Patient, PrescribingUnit, Prescription, PrescriptionRow,
    ProductArea, UnitPayer, User, user_units,
)
from core.numbering import next_number
from core.store import begin_write
from core.web.tables import Column, Page, TableState, paginate_query
from app.prescribing import outbox
from reserve import hooks as reserve_hooks
from app.prescribing.quantity import (
    QuantityError, QuantityResult, calculate_from_packages, calculate_from_pieces_per_day, prescription_expires_on,
)

MAX_ROWS = 30
MAX_RECOMMENDATION = 500


class RowConflict(DomainError):
    """The patient already has an active row for the article."""


@dataclass(frozen=True)
class RowInput:
    article_id: int
    withdrawals: int
    period_days: int | None = None
    packages_per_withdrawal: int | None = None
    pieces_per_day: str | None = None
    recommendation: str | None = None
    copied_from_id: int | None = None


@dataclass(frozen=True)
class PrescriptionInput:
    patient_id: int
    product_area_code: str
    unit_id: int
    rows: tuple[RowInput, ...]


def authorised_areas(actor: User) -> list[ProductArea]:
    """Return the product areas the actor may prescribe in."""
    if not actor.can(Permission.PRESCRIBE):
        return []
    return sorted(actor.product_areas, key=lambda a: a.name)


def units_for(actor: User, area: ProductArea) -> list[PrescribingUnit]:
    """Return the actor's units that have a payer for the product area."""
    return list(db.session.scalars(
        select(PrescribingUnit)
        .join(user_units, user_units.c.unit_id == PrescribingUnit.id)
        .where(user_units.c.user_id == actor.id)
        .where(exists().where(UnitPayer.unit_id == PrescribingUnit.id, UnitPayer.product_area_id == area.id))
        .order_by(PrescribingUnit.name)
    ))


ARTICLE_COLUMNS = (Column("number", "Artikelnr", Article.number), Column("name", "Benämning", Article.name),
                   Column("package_size", "Förp.storlek", Article.package_size),
                   Column("unit_price", "Pris/förp.", Article.unit_price), Column("image", "Bild"),
                   Column("choose", "Välj"))


def find_articles(area: ProductArea, text: str, state: TableState) -> Page:
    """Return one page of the area's active articles whose number starts with, or name contains, the text.

    Every match is counted, so a prescriber sees "160" rather than the first page's 20.
    """
    pattern = f"%{text.strip().lower().replace('%', '').replace('_', '')}%"
    query = (select(Article).where(Article.product_area_id == area.id, Article.is_active.is_(True))
             .where(or_(Article.number.startswith(text.strip(), autoescape=True), Article.name.ilike(pattern))))
    return paginate_query(query, ARTICLE_COLUMNS, state, tie_breaker=Article.id)


def area_by_code(code: str) -> ProductArea:
    area = db.session.scalar(select(ProductArea).where(ProductArea.code == code))
    if area is None:
        raise ValidationFailed.single("product_area", "Okänt produktområde.")
    return area


def calculate_row(row: RowInput, article: Article, index: int = 0) -> QuantityResult:
    """Return the row's quantities, from packages per withdrawal or from pieces per day."""
    try:
        if row.packages_per_withdrawal is not None:
            return calculate_from_packages(row.packages_per_withdrawal, article.package_size, row.withdrawals,
                                           row.period_days)
        if row.pieces_per_day is not None:
            return calculate_from_pieces_per_day(row.pieces_per_day, article.package_size, row.withdrawals,
                                                 row.period_days)
    except QuantityError as exc:
        raise ValidationFailed.single(f"rows[{index}].{exc.field}", exc.message) from None
    raise ValidationFailed.single(f"rows[{index}].packages_per_withdrawal",
                                  "Ange antal förpackningar per uttag eller förbrukning per dag.")


def _check_authority(actor: User, area: ProductArea, unit_id: int) -> PrescribingUnit:
    if area not in authorised_areas(actor):
        raise Forbidden("Du har inte behörighet att förskriva inom produktområdet.", field="product_area")
    unit = next((u for u in units_for(actor, area) if u.id == unit_id), None)
    if unit is None:
        raise Forbidden("Enheten saknar betalare för produktområdet eller kundkoppling till dig.", field="unit")
    return unit


def _load_articles(rows: tuple[RowInput, ...], area: ProductArea) -> dict[int, Article]:
    articles = {a.id: a for a in db.session.scalars(select(Article).where(Article.id.in_([r.article_id for r in rows])))}
    errors = []
    for i, row in enumerate(rows):
        article = articles.get(row.article_id)
        if article is None or not article.is_active:
            errors.append(FieldError(f"rows[{i}].article", "Artikeln finns inte."))
        elif article.product_area_id != area.id:
            errors.append(FieldError(f"rows[{i}].article", f"Artikel {article.number} hör inte till produktområdet."))
        if row.recommendation and len(row.recommendation) > MAX_RECOMMENDATION:
            errors.append(FieldError(f"rows[{i}].recommendation", f"Högst {MAX_RECOMMENDATION} tecken."))
    if len({r.article_id for r in rows}) != len(rows):
        errors.append(FieldError("rows", "Samma artikel kan bara förskrivas en gång per förskrivning."))
    if errors:
        raise ValidationFailed(errors)
    return articles


def _originals_to_replace(rows: tuple[RowInput, ...], patient_id: int, area: ProductArea) -> list[PrescriptionRow]:
    """Return the rows being copied, checked to be the patient's and of the same product area."""
    ids = [r.copied_from_id for r in rows if r.copied_from_id is not None]
    if not ids:
        return []
    originals = list(db.session.scalars(
        select(PrescriptionRow).where(PrescriptionRow.id.in_(ids)).options(joinedload(PrescriptionRow.prescription))
    ))
    if len(originals) != len(set(ids)) or any(
        o.patient_id != patient_id or o.prescription.product_area_id != area.id for o in originals
    ):
        raise ValidationFailed.single("rows", "Kopierade rader måste vara patientens och inom ett produktområde.")
    return originals


def create_prescription(actor: User, data: PrescriptionInput, today: date | None = None) -> Prescription:
    """Save a new prescription with its rows and return it with its 9-digit number.

    Copied active rows are cancelled in the same transaction; the database's partial
    unique index keeps one active row per patient and article even under concurrent saves.
    """
    today = today or local_today()
    begin_write()
    if not data.rows:
        raise ValidationFailed.single("rows", "Registrera minst en artikel.")
    if len(data.rows) > MAX_ROWS:
        raise ValidationFailed.single("rows", f"Högst {MAX_ROWS} rader per förskrivning.")
    patient = db.session.get(Patient, data.patient_id)
    if patient is None:
        raise ValidationFailed.single("patient", "Patienten finns inte.")
    area = area_by_code(data.product_area_code)
    if not data.unit_id:
        raise ValidationFailed.single("unit", "Välj förskrivande enhet.")
    unit = _check_authority(actor, area, data.unit_id)
    articles = _load_articles(data.rows, area)
    quantities = [calculate_row(row, articles[row.article_id], i) for i, row in enumerate(data.rows)]
    originals = _originals_to_replace(data.rows, patient.id, area)
    now = utcnow()
    try:
        _close_rows_that_give_way(patient.id, [r.article_id for r in data.rows], originals, actor, today, now)
        _refuse_if_active_row_exists(patient.id, articles, data.rows)
        prescription = Prescription(
            number=next_number("prescription"), patient_id=patient.id, prescriber_id=actor.id, unit_id=unit.id,
            product_area_id=area.id, prescribed_on=today,
        )
        for row, quantity in zip(data.rows, quantities):
            prescription.rows.append(PrescriptionRow(
                patient_id=patient.id, article_id=row.article_id,
                packages_per_withdrawal=quantity.packages_per_withdrawal,
                pieces_per_day=quantity.rounded_pieces_per_day(2) if row.pieces_per_day is not None else None,
                period_days=quantity.period_days, withdrawals=quantity.withdrawals,
                recommendation=(row.recommendation or "").strip() or None,
                valid_until=prescription_expires_on(today), status=ROW_ACTIVE, copied_from_id=row.copied_from_id,
            ))
        db.session.add(prescription)
        outbox.prescription_saved(prescription, originals, now)  # outbox item, same transaction
        reserve_hooks.mark_if_outage(prescription, now)  # reserve routine: "awaiting registration" while out
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RowConflict("Patienten har redan en aktiv rad för en av artiklarna.", field="rows") from None
    except Exception:
        db.session.rollback()
        raise
    return prescription


def _close_rows_that_give_way(patient_id: int, article_ids: list[int], originals: list[PrescriptionRow],
                              actor: User, today: date, now) -> None:  # noqa: ANN001
    """Cancel copied active rows and close expired ones, before the new rows are inserted."""
    db.session.execute(
        update(PrescriptionRow)
        .where(PrescriptionRow.patient_id == patient_id, PrescriptionRow.article_id.in_(article_ids),
               PrescriptionRow.status == ROW_ACTIVE, PrescriptionRow.valid_until < today)
        .values(status=ROW_EXPIRED, closed_at=now)
    )
    for original in originals:
        if original.status == ROW_ACTIVE and original.valid_until >= today:
            original.status, original.closed_at, original.closed_by_id = ROW_CANCELLED, now, actor.id
    db.session.flush()  # the old rows must leave the active set before the new ones arrive


def _refuse_if_active_row_exists(patient_id: int, articles: dict[int, Article], rows: tuple[RowInput, ...]) -> None:
    taken = set(db.session.scalars(
        select(PrescriptionRow.article_id).where(
            PrescriptionRow.patient_id == patient_id, PrescriptionRow.status == ROW_ACTIVE,
            PrescriptionRow.article_id.in_([r.article_id for r in rows]),
        )
    ))
    errors = [
        FieldError(f"rows[{i}].article", f"Patienten har redan en aktiv rad för artikel {articles[r.article_id].number}.")
        for i, r in enumerate(rows) if r.article_id in taken
    ]
    if errors:
        raise RowConflict(errors[0].message, field=errors[0].field)


def cancel_row(actor: User, row_id: int, today: date | None = None) -> PrescriptionRow:
    """Cancel (makulera) an active row, the actor's own or another prescriber's."""
    today = today or local_today()
    if not actor.can(Permission.PRESCRIBE):
        raise Forbidden("Bara förskrivare kan makulera.")
    begin_write()
    result = db.session.execute(
        update(PrescriptionRow)
        .where(PrescriptionRow.id == row_id, PrescriptionRow.status == ROW_ACTIVE,
               PrescriptionRow.valid_until >= today)
        .values(status=ROW_CANCELLED, closed_at=utcnow(), closed_by_id=actor.id)
    )
    if result.rowcount != 1:
        db.session.rollback()
        if db.session.get(PrescriptionRow, row_id) is None:
            raise NotFound("Raden finns inte.")
        raise DomainError("Raden är inte aktiv och kan inte makuleras.")
    outbox.row_cancelled(row_id)  # outbox item, same transaction
    db.session.commit()
    return db.session.get(PrescriptionRow, row_id)


def rows_for_copy(patient_id: int, row_ids: list[int]) -> tuple[ProductArea, list[PrescriptionRow]]:
    """Return the ticked rows and their one product area, for a copy/correct draft."""
    if not row_ids:
        raise ValidationFailed.single("row", "Markera minst en rad att kopiera.")
    rows = list(db.session.scalars(
        select(PrescriptionRow).where(PrescriptionRow.id.in_(row_ids), PrescriptionRow.patient_id == patient_id)
        .options(joinedload(PrescriptionRow.prescription).joinedload(Prescription.product_area),
                 joinedload(PrescriptionRow.article))
        .order_by(PrescriptionRow.id)
    ))
    if len(rows) != len(set(row_ids)):
        raise ValidationFailed.single("row", "Någon av raderna finns inte hos patienten.")
    areas = {r.prescription.product_area for r in rows}
    if len(areas) != 1:
        raise ValidationFailed.single("row", "Markera rader inom ett och samma produktområde.")
    return areas.pop(), rows


def get_prescription(number: int) -> Prescription:
    prescription = db.session.scalar(
        select(Prescription).where(Prescription.number == number).options(
            joinedload(Prescription.rows).joinedload(PrescriptionRow.article),
            joinedload(Prescription.patient), joinedload(Prescription.prescriber),
            joinedload(Prescription.unit), joinedload(Prescription.product_area),
        )
    )
    if prescription is None:
        raise NotFound("Förskrivningen finns inte.")
    return prescription


def get_row(row_id: int) -> PrescriptionRow:
    """Return a prescription row with its article and prescription, or refuse with 404."""
    row = db.session.get(PrescriptionRow, row_id, options=[joinedload(PrescriptionRow.article),
                                                           joinedload(PrescriptionRow.prescription)])
    if row is None:
        raise NotFound("Förskrivningsraden finns inte.", field="row_id")
    return row
