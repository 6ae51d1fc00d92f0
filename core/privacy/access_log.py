"""Record and read the access log of personal data (seed 003: searches are logged)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache

from sqlalchemy import Select, TextClause, bindparam, func, insert, select, text
from sqlalchemy.orm import contains_eager

from core.clock import utcnow
from core.extensions import db
from core.models import AccessLogEntry, Patient, User
from core.privacy import access_journal
from core.store import begin_write


class AccessAction(str, Enum):
    SEARCH = "search"
    OVERVIEW = "overview"
    EDIT = "edit"
    RECEIPT = "receipt"
    WITHDRAWALS = "withdrawals"
    ACCESS_LOG = "access_log"
    DISPLAY = "display"
    LOG_EXPORT = "log_export"
    LOG_EXTRACT = "log_extract"

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self, self.value)


ACTION_LABELS = {
    AccessAction.SEARCH: "Sökning",
    AccessAction.OVERVIEW: "Patientöversikt",
    AccessAction.EDIT: "Ändring av patientuppgifter",
    AccessAction.RECEIPT: "Förskrivningskvitto",
    AccessAction.WITHDRAWALS: "Uttag",
    AccessAction.ACCESS_LOG: "Läsning av åtkomstloggen",
    AccessAction.DISPLAY: "Visning av patientuppgifter",
    AccessAction.LOG_EXPORT: "Export av åtkomstloggen",
    AccessAction.LOG_EXTRACT: "Logutdrag till patient",
}

# SQLite binds at most 32,766 values in one statement (five per row); a page shows at most 50.
ROWS_PER_STATEMENT = 500


@dataclass(frozen=True)
class Mark:
    """One access-log row to write: this user saw this patient, doing this, on this screen."""

    user_id: int
    patient_id: int
    action: AccessAction
    context: str


def record_patient_access(user_id: int, patient_ids: Iterable[int], action: AccessAction, context: str) -> int:
    """Write one access-log row per patient read and return how many were written."""
    return record_rows([Mark(user_id, pid, action, context) for pid in dict.fromkeys(patient_ids)])


def record_rows(marks: Iterable[Mark]) -> int:
    """Write the rows at one moment and return how many were written.

    On a SQLite file they go to the access journal (`core.privacy.access_journal`), which every
    reader of the log moves into the table first; on PostgreSQL straight into the table, committed.
    """
    now = utcnow()
    rows = [
        {"at": now, "user_id": m.user_id, "patient_id": m.patient_id, "action": AccessAction(m.action).value,
         "context": m.context[:120]}
        for m in marks
    ]
    if not rows:
        return 0
    journal = access_journal.current()
    if journal is not None:
        journal.append(rows)
        return len(rows)
    if len(rows) <= ROWS_PER_STATEMENT:
        # One multi-row INSERT: one round trip, one statement compiled once per row count.
        parameters = {f"{key}_{i}": value for i, row in enumerate(rows) for key, value in row.items()}
        begin_write(single_statement=True)
        db.session.connection().execute(_multi_row_insert(len(rows)), parameters)
    else:  # an export's thousands of rows: one transaction of many statements
        begin_write()
        db.session.connection().execute(insert(AccessLogEntry.__table__), rows)
    db.session.commit()
    return len(rows)


@lru_cache(maxsize=64)
def _multi_row_insert(count: int) -> TextClause:
    """Return INSERT … VALUES (…), (…) for `count` rows; as text, SQLAlchemy compiles it once and caches it."""
    # (Core's insert().values([...]) is compiled anew at every execution.)
    table = AccessLogEntry.__table__
    names = ("at", "user_id", "patient_id", "action", "context")
    rows = ", ".join("(" + ", ".join(f":{name}_{i}" for name in names) + ")" for i in range(count))
    binds = [bindparam(f"{name}_{i}", type_=table.c[name].type) for i in range(count) for name in names]
    return text(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES {rows}").bindparams(*binds)


def access_log_query(user_id: int | None = None, patient_id: int | None = None,
                     since: datetime | None = None, until: datetime | None = None) -> Select:
    """Return the log entries, optionally for one user, one patient and a period [since, until) in UTC.

    The access journal is moved into the table first, so the query sees every display until now.
    """
    access_journal.ingest_pending()
    query = (
        select(AccessLogEntry)
        .join(AccessLogEntry.user)
        .join(AccessLogEntry.patient)
        .options(contains_eager(AccessLogEntry.user), contains_eager(AccessLogEntry.patient))
    )
    if user_id is not None:
        query = query.where(AccessLogEntry.user_id == user_id)
    if patient_id is not None:
        query = query.where(AccessLogEntry.patient_id == patient_id)
    if since is not None:
        query = query.where(AccessLogEntry.at >= since)
    if until is not None:
        query = query.where(AccessLogEntry.at < until)
    return query


def access_log_entries(user_id: int | None, patient_id: int | None, since: datetime | None,
                       until: datetime | None) -> list[AccessLogEntry]:
    """Return every matching entry, oldest first, with the users' roles and units (for export and extract)."""
    via_user = contains_eager(AccessLogEntry.user)
    query = access_log_query(user_id, patient_id, since, until).options(
        via_user.selectinload(User.units), via_user.selectinload(User.role_rows))
    return list(db.session.scalars(query.order_by(AccessLogEntry.at, AccessLogEntry.id)).unique())


def find_patient_by_personnummer(personnummer: str) -> Patient | None:
    return db.session.scalar(select(Patient).where(Patient.personnummer == personnummer))


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def user_id_for(username: str) -> int | None:
    return db.session.scalar(select(User.id).where(User.username == username.strip().lower()))


def access_log_page(user_id: int | None, patient_id: int | None, limit: int, offset: int) -> tuple[int, list[AccessLogEntry]]:
    """Return the total and one page of entries, newest first."""
    query = access_log_query(user_id, patient_id)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = db.session.scalars(
        query.order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc()).limit(limit).offset(offset)
    ).all()
    return total, list(page)


def user_exists(user_id: int) -> bool:
    return db.session.get(User, user_id) is not None
