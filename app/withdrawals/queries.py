"""Withdrawal reads: the overview, My page's needing action, the patient's history, per article, one.

Every read of patient data through these functions is written to the access log here, so the
web UI and the JSON API cannot forget it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from math import ceil

from sqlalchemy import Select, and_, select, union_all
from sqlalchemy.orm import joinedload

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.clock import local_today
from core.errors import NotFound
from core.extensions import db
from core.models import Article, Patient, PrescribingUnit, Prescription, PrescriptionRow, User, user_units
from core.web.tables import Column, Page, TableState
from app.withdrawals.models import Withdrawal
from app.withdrawals.rules import WithdrawalStatus, format_u_number
from app.withdrawals.search import WithdrawalCriteria, local_day_start_utc
from app.withdrawals.services import digits_of

# Lists show at most the newest this many matches, so a search over millions of withdrawals
# costs the same as one over a thousand; sorting and paging happen within them.
LIST_CAP = 1000
SEES_EVERY_UNIT = {"customer_service", "hms_staff"}

@dataclass(frozen=True)
class WithdrawalLine:
    """One withdrawal as lists show it: plain values, safe to use after the access log commits."""

    id: int
    number: int
    u_number: str
    status: str
    status_label: str
    packages: int
    ordered_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    aborted_at: datetime | None
    channel: str
    channel_label: str
    row_id: int
    patient_id: int
    personnummer: str
    patient_name: str
    article_id: int
    article_number: str
    article_name: str
    unit_id: int
    unit_name: str

    @property
    def needs_action(self) -> bool:
        return self.status == WithdrawalStatus.NEW.value


def _line(w: Withdrawal) -> WithdrawalLine:
    return WithdrawalLine(
        id=w.id, number=w.number, u_number=w.u_number, status=w.status, status_label=w.status_label,
        packages=w.packages, ordered_at=w.ordered_at, sent_at=w.sent_at, delivered_at=w.delivered_at,
        aborted_at=w.aborted_at, channel=w.channel, channel_label=w.channel_label, row_id=w.row_id,
        patient_id=w.patient_id, personnummer=w.patient.personnummer, patient_name=w.patient.full_name,
        article_id=w.article_id, article_number=w.article.number, article_name=w.article.name, unit_id=w.unit_id,
        unit_name=w.unit.name,
    )


LIST_COLUMNS = (
    Column("number", "Uttagsnummer", Withdrawal.number),
    Column("ordered", "Beställd", Withdrawal.ordered_at),
    Column("delivered", "Levererad", Withdrawal.delivered_at),
    Column("status", "Status", Withdrawal.status),
    Column("patient", "Patient", Patient.personnummer),
    Column("article", "Artikel", Article.name),
    Column("packages", "Förp.", Withdrawal.packages),
    Column("unit", "Enhet", PrescribingUnit.name),
    Column("actions", "Åtgärd"),
)
HISTORY_COLUMNS = tuple(c for c in LIST_COLUMNS if c.key not in ("patient",))
ARTICLE_COLUMNS = tuple(c for c in HISTORY_COLUMNS if c.key not in ("article",))


def visible_unit_ids(actor: User) -> list[int] | None:
    """Return the units whose withdrawals the actor's overview covers; None means every unit.

    Customer service and HMS serve the whole region; a prescriber sees the units of their
    customer relations (seed 000: "de beställarenheter du har behörighet till").
    """
    if {role.value for role in actor.roles} & SEES_EVERY_UNIT:
        return None
    return list(db.session.scalars(select(user_units.c.unit_id).where(user_units.c.user_id == actor.id)))


def _newest_ids(conditions: list, units: list[int] | None) -> Select:
    """Return the ids of the newest LIST_CAP withdrawals matching the conditions in the units (None: all).

    Per unit, the (unit_id, ordered_at) index yields its newest matches in order; the few units of
    a prescriber are merged, so neither a busy unit nor a quiet one makes the database sort or scan
    every withdrawal of the region.
    """
    newest = (Withdrawal.ordered_at.desc(), Withdrawal.id.desc())
    if units is None:
        return select(Withdrawal.id).where(*conditions).order_by(*newest).limit(LIST_CAP)
    parts = [
        select(Withdrawal.id, Withdrawal.ordered_at).where(Withdrawal.unit_id == unit_id, *conditions)
        .order_by(*newest).limit(LIST_CAP).subquery()
        for unit_id in units
    ]
    if len(parts) == 1:
        return select(parts[0].c.id)
    merged = union_all(*(select(part.c.id, part.c.ordered_at) for part in parts)).subquery()
    return select(merged.c.id).order_by(merged.c.ordered_at.desc(), merged.c.id.desc()).limit(LIST_CAP)


# Sorting by these columns needs the withdrawal's patient, article or unit joined.
SORT_JOINS = {"patient": Withdrawal.patient, "article": Withdrawal.article, "unit": Withdrawal.unit}


def _capped_page(conditions: list, columns: tuple[Column, ...], state: TableState,
                 units: list[int] | None = None) -> Page:
    """Return one page of the newest LIST_CAP withdrawals matching the conditions, sorted as the state says.

    The matches' ids come first (at most LIST_CAP integers, already newest first for the default
    sort); their count is the total, and only the page's own rows are then loaded with patient,
    article and unit.
    """
    newest = _newest_ids(conditions, units)
    column = next((c for c in columns if c.key == state.sort and c.sortable), None)
    if column is None or (column.key == "ordered" and state.direction == "desc"):
        ids = list(db.session.scalars(newest))
    else:
        order = column.sort.desc() if state.direction == "desc" else column.sort.asc()
        query = select(Withdrawal.id).where(Withdrawal.id.in_(newest))
        if column.key in SORT_JOINS:
            query = query.join(SORT_JOINS[column.key])
        ids = list(db.session.scalars(query.order_by(order, Withdrawal.id.desc())))
    last_page = max(ceil(len(ids) / state.per_page), 1)
    if state.page > last_page:
        state = replace(state, page=last_page)
    start = (state.page - 1) * state.per_page
    page_ids = ids[start:start + state.per_page]
    loaded = {w.id: w for w in db.session.scalars(
        select(Withdrawal).where(Withdrawal.id.in_(page_ids))
        .options(joinedload(Withdrawal.patient), joinedload(Withdrawal.article), joinedload(Withdrawal.unit))
    )} if page_ids else {}
    return Page([_line(loaded[i]) for i in page_ids], len(ids), state, columns)


def _criteria_conditions(criteria: WithdrawalCriteria) -> list | None:
    """Return the WHERE conditions, or None when nothing can match (e.g. an unknown personnummer)."""
    conditions: list = []
    if criteria.number_range:
        low, high = criteria.number_range
        conditions.append(and_(Withdrawal.number >= low, Withdrawal.number < high))
    if criteria.personnummer:
        patient_id = db.session.scalar(select(Patient.id).where(Patient.personnummer == criteria.personnummer))
        if patient_id is None:
            return None
        conditions.append(Withdrawal.patient_id == patient_id)
    if criteria.status:
        conditions.append(Withdrawal.status == criteria.status.value)
    if criteria.date_from:
        conditions.append(Withdrawal.ordered_at >= local_day_start_utc(criteria.date_from))
    if criteria.date_to:
        conditions.append(Withdrawal.ordered_at < local_day_start_utc(criteria.date_to + timedelta(days=1)))
    return conditions


def _units_searched(criteria: WithdrawalCriteria, scope: list[int] | None) -> list[int] | None:
    """Return the units to search: the chosen one if the actor may see it, else the actor's scope."""
    if criteria.unit_id is None:
        return scope
    if scope is not None and criteria.unit_id not in scope:
        return []
    return [criteria.unit_id]


def search_withdrawals(actor: User, criteria: WithdrawalCriteria, state: TableState, context: str) -> Page:
    """Return one page of the withdrawal overview (newest first by default); log the patients shown."""
    conditions = _criteria_conditions(criteria)
    units = _units_searched(criteria, visible_unit_ids(actor))
    if conditions is None or units == []:
        return Page([], 0, state, LIST_COLUMNS)
    page = _capped_page(conditions, LIST_COLUMNS, state, units)
    mark_displayed(actor.id, [line.patient_id for line in page.rows], AccessAction.WITHDRAWALS, context)
    return page


def needing_action(actor: User, state: TableState, context: str) -> Page:
    """Return the withdrawals with status Ny in the actor's units ("Uttag som måste åtgärdas"); log them."""
    criteria = WithdrawalCriteria(status=WithdrawalStatus.NEW)
    return search_withdrawals(actor, criteria, state, context)


def patient_history(patient_id: int, state: TableState) -> Page:
    """Return one page of the patient's withdrawal history for the overview (which logs the read)."""
    return _capped_page([Withdrawal.patient_id == patient_id], HISTORY_COLUMNS, state)


def withdrawals_per_article(actor: User, patient_id: int, article_id: int | None, state: TableState,
                            context: str) -> tuple[Patient, list[Article], Article | None, Page | None]:
    """Return the patient, the articles prescribed to them, and the withdrawals of the chosen one; log it."""
    if db.session.scalar(select(Patient.id).where(Patient.id == patient_id)) is None:
        raise NotFound("Patienten finns inte.", field="patient")
    # Logged first: the log commits, and what is loaded after it stays fresh for the page.
    mark_displayed(actor.id, [patient_id], AccessAction.WITHDRAWALS, context)
    patient = db.session.get(Patient, patient_id)
    articles = list(db.session.scalars(
        select(Article).where(Article.id.in_(
            select(PrescriptionRow.article_id).where(PrescriptionRow.patient_id == patient_id)
        )).order_by(Article.name)
    ))
    chosen = next((a for a in articles if a.id == article_id), None)
    page = None
    if chosen is not None:
        page = _capped_page([Withdrawal.patient_id == patient_id, Withdrawal.article_id == chosen.id],
                            ARTICLE_COLUMNS, state)
    return patient, articles, chosen, page


@dataclass(frozen=True)
class WithdrawalDetail:
    line: WithdrawalLine
    prescription_number: int
    prescriber_name: str
    created_by_name: str
    packages_per_withdrawal: int
    withdrawals_left: int
    row_status: str


def get_withdrawal(actor: User, number: str, context: str, today: date | None = None) -> WithdrawalDetail:
    """Return one withdrawal with its row and prescription; log the read of the patient."""
    digits = digits_of(number)
    withdrawal = db.session.scalar(
        select(Withdrawal).where(Withdrawal.number == digits).options(
            joinedload(Withdrawal.patient), joinedload(Withdrawal.article), joinedload(Withdrawal.unit),
            joinedload(Withdrawal.created_by),
            joinedload(Withdrawal.row).joinedload(PrescriptionRow.prescription).joinedload(Prescription.prescriber),
        )
    )
    if withdrawal is None:
        raise NotFound(f"Uttag {format_u_number(digits)} finns inte.", field="number")
    row = withdrawal.row
    detail = WithdrawalDetail(
        line=_line(withdrawal), prescription_number=row.prescription.number,
        prescriber_name=row.prescription.prescriber.name, created_by_name=withdrawal.created_by.name,
        packages_per_withdrawal=row.packages_per_withdrawal, withdrawals_left=row.withdrawals_left,
        row_status=row.display_status(today or local_today()),
    )
    mark_displayed(actor.id, [withdrawal.patient_id], AccessAction.WITHDRAWALS, context)
    return detail


def row_for_new_withdrawal(actor: User, row_id: int, context: str) -> PrescriptionRow:
    """Return the row a withdrawal is about to be made from, for the form; log the read of the patient."""
    patient_id = db.session.scalar(select(PrescriptionRow.patient_id).where(PrescriptionRow.id == row_id))
    if patient_id is None:
        raise NotFound("Förskrivningsraden finns inte.", field="row_id")
    mark_displayed(actor.id, [patient_id], AccessAction.WITHDRAWALS, context)
    return db.session.get(PrescriptionRow, row_id, options=[
        joinedload(PrescriptionRow.article), joinedload(PrescriptionRow.prescription).joinedload(Prescription.patient),
    ])


def units_for_filter(actor: User) -> list[PrescribingUnit]:
    """Return the units the actor may filter the overview by."""
    scope = visible_unit_ids(actor)
    query = select(PrescribingUnit).order_by(PrescribingUnit.name)
    if scope is not None:
        query = query.where(PrescribingUnit.id.in_(scope))
    return list(db.session.scalars(query))
