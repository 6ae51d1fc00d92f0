"""The patient search as SQL: one statement pair per shape of search, built once, values bound per search.

Searching is a prescriber's most frequent request (seed 000: by personnummer or its leading digits,
or by article). Building the statements anew cost more CPU than the indexed range read itself, so
each shape (kind, row state, how much of the personnummer was typed, sort) is built once and its
values (the range, the article, the prescriber, today) are bound per search.
"""
from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, select, true

from core.models import ROW_ACTIVE, Article, Patient, Prescription, PrescriptionRow
from core.web.tables import Column, count_of, paged, sorted_by
from app.patients.search import PatientCriteria, RowState, SearchKind

SEARCH_COLUMNS = (
    Column("personnummer", "Personnummer", Patient.personnummer),
    Column("last_name", "Efternamn", Patient.last_name),
    Column("first_name", "Förnamn", Patient.first_name),
    Column("city", "Postort", Patient.registered_city),
)

# What a result row shows: columns, not Patient objects (each row has these attribute names).
RESULT_COLUMNS = (Patient.id, Patient.personnummer, Patient.first_name, Patient.last_name,
                  Patient.registered_city)


def row_state_condition(state: RowState, today: Any):  # noqa: ANN201 - an SQL condition
    """Return the SQL condition for the rows the search asks about (active, inactive or both)."""
    active = and_(PrescriptionRow.status == ROW_ACTIVE, PrescriptionRow.valid_until >= today)
    return {RowState.ACTIVE: active, RowState.INACTIVE: ~active, RowState.BOTH: true()}[state]


def search_statements(criteria: PatientCriteria, sort: str | None, direction: str) -> tuple[Select, Select]:
    """Return (count, page) statements for this search's shape; bind `search_values` and the page."""
    typed = "exact" if len(criteria.text) == 12 else "prefix" if criteria.text else ""
    return _statements(criteria.kind, criteria.row_state, typed, sort, direction)


def search_values(criteria: PatientCriteria, actor_id: int, today: date) -> dict[str, Any]:
    """Return the values the statements bind (a shape ignores those it does not use)."""
    low, high = criteria.prefix_range
    return {"actor_id": actor_id, "article": criteria.article_number, "today": today,
            "personnummer": criteria.text, "low": low, "high": high}


@cache
def _statements(kind: SearchKind, row_state: RowState, typed: str, sort: str | None,
                direction: str) -> tuple[Select, Select]:
    matching = _matching(kind, row_state, typed)
    rows = sorted_by(matching, SEARCH_COLUMNS, sort, direction, tie_breaker=Patient.id)
    return count_of(matching), paged(rows.with_only_columns(*RESULT_COLUMNS))


def _matching(kind: SearchKind, row_state: RowState, typed: str) -> Select:
    query = select(Patient.id)
    if kind is SearchKind.MINE:
        mine = exists().where(Prescription.patient_id == Patient.id,
                              Prescription.prescriber_id == bindparam("actor_id"))
        return query.where(mine)
    if kind is SearchKind.ARTICLE:
        query = query.where(exists().where(
            PrescriptionRow.patient_id == Patient.id,
            PrescriptionRow.article_id == Article.id,
            Article.number == bindparam("article"),
            row_state_condition(row_state, bindparam("today", type_=PrescriptionRow.valid_until.type)),
        ))
    if typed == "exact":
        return query.where(Patient.personnummer == bindparam("personnummer"))
    if typed == "prefix":
        return query.where(Patient.personnummer >= bindparam("low"), Patient.personnummer < bindparam("high"))
    return query
