"""The reference main server's domain rules: what each kind needs and when it conflicts.

Each `apply_<kind>` runs inside the batch's transaction (in a savepoint of its own) and
returns Created(record id), Conflict(problem) or Invalid(problem). Nothing here knows HTTP.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PERSONNUMMER = re.compile(r"^\d{12}$")
U_NUMBER = re.compile(r"^U\d{9}$")

# Record id prefixes, Swedish initials as a central system would show them.
PREFIX = {
    "prescription": "F", "prescription_cancel": "M", "withdrawal": "UT", "order": "B", "stock_move": "L",
    "outbound_delivery": "UL", "work_order": "AO",
}
WITHDRAWAL_STATUSES = ("new", "sent", "delivered", "aborted")


@dataclass(frozen=True)
class Created:
    record_id: str


@dataclass(frozen=True)
class Conflict:
    problem: dict


@dataclass(frozen=True)
class Invalid:
    problem: dict


Result = Created | Conflict | Invalid


class Refused(Exception):
    """The payload breaks the contract; the item is answered `invalid`."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = {"type": "invalid_field", "field": field, "detail": detail}


def _field(payload: dict, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    value = payload.get(name)
    if value is None:
        if required:
            raise Refused(name, f"{name} saknas")
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise Refused(name, f"{name} har fel typ")
    return value


def _positive(payload: dict, name: str, *, required: bool = True, default: int | None = None) -> int | None:
    value = _field(payload, name, int, required=required and default is None)
    if value is None:
        return default
    if value <= 0:
        raise Refused(name, f"{name} måste vara större än noll")
    return value


def _personnummer(payload: dict) -> str:
    patient = _field(payload, "patient", dict)
    number = patient.get("personnummer")
    if not isinstance(number, str) or not PERSONNUMMER.match(number):
        raise Refused("patient.personnummer", "personnummer ska vara 12 siffror")
    return number


def _lines(payload: dict) -> list[dict]:
    lines = _field(payload, "lines", list)
    if not lines:
        raise Refused("lines", "minst en rad behövs")
    articles = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            raise Refused(f"lines[{i}]", "raden ska vara ett objekt")
        article = line.get("article")
        if not isinstance(article, str) or not article.strip():
            raise Refused(f"lines[{i}].article", "artikel saknas")
        quantity = line.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise Refused(f"lines[{i}].quantity", "antal måste vara ett heltal större än noll")
        articles.append(article.strip())
    if len(set(articles)) != len(articles):
        raise Refused("lines", "samma artikel förekommer två gånger")
    return lines


def _warehouse(payload: dict, name: str, *, required: bool) -> None:
    """A warehouse is named by its number (10, 101, 50301), as an integer or a string of digits."""
    value = payload.get(name)
    if value is None:
        if required:
            raise Refused(name, f"{name} saknas")
        return
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise Refused(name, "lagret anges med sitt nummer")


def _recipient(payload: dict) -> None:
    """The optional unit (customer number) and patient (personnummer) an order or delivery goes to."""
    unit = payload.get("unit")
    if unit is not None:
        number = unit.get("customer_number") if isinstance(unit, dict) else None
        if not isinstance(number, str) or not number.strip():
            raise Refused("unit.customer_number", "enhetens kundnummer saknas")
    if payload.get("patient") is not None:
        _personnummer(payload)


class Ids:
    """Hands out record ids from a counter per prefix, inside the batch's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def next(self, kind: str) -> str:
        prefix = PREFIX[kind]
        row = self.conn.execute("UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value",
                                (prefix,)).fetchone()
        if row is None:
            self.conn.execute("INSERT INTO counters (name, value) VALUES (?, 1)", (prefix,))
            value = 1
        else:
            value = row[0]
        return f"{prefix}{value:08d}"

    def seq(self) -> int:
        """Return the next position in the changes feed."""
        row = self.conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value").fetchone()
        if row is None:
            self.conn.execute("INSERT INTO counters (name, value) VALUES ('seq', 1)")
            return 1
        return row[0]


def _insert_record(conn: sqlite3.Connection, ids: Ids, kind: str, site: str, key: str, payload: dict, now: str,
                   form_number: str | None = None, status: str = "registered") -> str:
    record_id = ids.next(kind)
    conn.execute("INSERT INTO records (id, kind, site, key, payload, status, form_number, created_at, changed_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (record_id, kind, site, key, json.dumps(payload, ensure_ascii=False), status, form_number, now, now))
    return record_id


def _form_number(conn: sqlite3.Connection, kind: str, payload: dict) -> tuple[str | None, Conflict | None]:
    """A reserved number from the printed kit may be used once per kind."""
    number = payload.get("form_number")
    if number is None:
        return None, None
    if not isinstance(number, str | int) or isinstance(number, bool) or not str(number).strip():
        raise Refused("form_number", "blankettnumret har fel form")
    number = str(number).strip()
    taken = conn.execute("SELECT id FROM records WHERE kind = ? AND form_number = ?", (kind, number)).fetchone()
    if taken:
        return number, Conflict({"type": "number_taken", "existing_id": taken[0],
                                 "detail": f"blankettnummer {number} är redan registrerat"})
    return number, None


def _summary(conn: sqlite3.Connection, record_id: str) -> dict | None:
    row = conn.execute("SELECT id, kind, status, payload, created_at FROM records WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        return None
    return {"id": row[0], "kind": row[1], "status": row[2], "payload": json.loads(row[3]), "registered_at": row[4]}


def apply_prescription(conn: sqlite3.Connection, ids: Ids, site: str, key: str, payload: dict, now: str) -> Result:
    patient = _personnummer(payload)
    rows = _field(payload, "rows", list)
    if not rows:
        raise Refused("rows", "minst en rad behövs")
    articles = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise Refused(f"rows[{i}]", "raden ska vara ett objekt")
        article = row.get("article")
        if not isinstance(article, str) or not article.strip():
            raise Refused(f"rows[{i}].article", "artikel saknas")
        _positive(row, "packages_per_withdrawal")
        _positive(row, "withdrawals", default=1)
        articles.append(article)
    if len(set(articles)) != len(articles):
        raise Refused("rows", "samma artikel förekommer två gånger")
    replaces = payload.get("replaces") or []
    if not isinstance(replaces, list) or not all(isinstance(r, str) for r in replaces):
        raise Refused("replaces", "replaces ska vara en lista med radernas id")
    for row_id in replaces:
        # Sent anew after a conflict: the rows it replaces are closed first, in the same transaction.
        found = conn.execute("SELECT patient, article, status FROM prescription_rows WHERE id = ?", (row_id,)).fetchone()
        if found is None or found[0] != patient or found[1] not in articles:
            raise Refused("replaces", f"{row_id} är inte en rad för samma patient och artikel")
        conn.execute("UPDATE prescription_rows SET status = 'replaced' WHERE id = ? AND status = 'active'", (row_id,))
    taken = conn.execute(
        f"SELECT r.id, r.record_id, r.article FROM prescription_rows r WHERE r.patient = ? AND r.status = 'active' "
        f"AND r.article IN ({', '.join('?' * len(articles))}) ORDER BY r.id", (patient, *articles)).fetchall()
    if taken:
        return Conflict({"type": "active_row_exists", "existing_id": taken[0][1],
                         "rows": [{"id": t[0], "prescription_id": t[1], "article": t[2]} for t in taken],
                         "detail": "patienten har redan en aktiv rad för artikel "
                                   + ", ".join(sorted({t[2] for t in taken})),
                         "existing": _summary(conn, taken[0][1])})
    record_id = _insert_record(conn, ids, "prescription", site, key, payload, now)
    for n, row in enumerate(rows, start=1):
        conn.execute("INSERT INTO prescription_rows (id, record_id, patient, article, status, withdrawals, "
                     "withdrawals_used, local_ref) VALUES (?, ?, ?, ?, 'active', ?, 0, ?)",
                     (f"{record_id}-{n}", record_id, patient, row["article"], row.get("withdrawals") or 1,
                      str(row.get("ref")) if row.get("ref") is not None else None))
    return Created(record_id)


def _row_for(conn: sqlite3.Connection, site: str, payload: dict, patient: str, article: str) -> tuple | None:
    """Find the row a cancel or withdrawal is about: by the prescription's key, else the patient's active row."""
    prescription_key = payload.get("prescription_key")
    if isinstance(prescription_key, str):
        found = conn.execute(
            "SELECT r.id, r.status, r.record_id, r.withdrawals, r.withdrawals_used FROM registrations g "
            "JOIN prescription_rows r ON r.record_id = g.record_id "
            "WHERE g.site = ? AND g.key = ? AND r.article = ? ORDER BY r.status = 'active' DESC LIMIT 1",
            (site, prescription_key, article)).fetchone()
        if found is not None and found[1] == "active":
            return found
    active = conn.execute("SELECT id, status, record_id, withdrawals, withdrawals_used FROM prescription_rows "
                          "WHERE patient = ? AND article = ? AND status = 'active'", (patient, article)).fetchone()
    if active is not None:
        return active
    return conn.execute("SELECT id, status, record_id, withdrawals, withdrawals_used FROM prescription_rows "
                        "WHERE patient = ? AND article = ? ORDER BY rowid DESC LIMIT 1", (patient, article)).fetchone()


def apply_prescription_cancel(conn: sqlite3.Connection, ids: Ids, site: str, key: str, payload: dict,
                              now: str) -> Result:
    patient = _personnummer(payload)
    article = _field(payload, "article", str)
    row = _row_for(conn, site, payload, patient, article)
    if row is None:
        return Conflict({"type": "unknown_record", "existing_id": None,
                         "detail": "huvudservern har ingen rad för patienten och artikeln"})
    if row[1] != "active":
        return Conflict({"type": "already_closed", "existing_id": row[2], "row_id": row[0],
                         "detail": f"raden är redan avslutad ({row[1]})", "existing": _summary(conn, row[2])})
    conn.execute("UPDATE prescription_rows SET status = 'cancelled' WHERE id = ?", (row[0],))
    conn.execute("UPDATE records SET changed_at = ? WHERE id = ?", (now, row[2]))
    return Created(_insert_record(conn, ids, "prescription_cancel", site, key, payload, now))


def apply_withdrawal(conn: sqlite3.Connection, ids: Ids, site: str, key: str, payload: dict, now: str) -> Result:
    u_number = _field(payload, "u_number", str)
    if not U_NUMBER.match(u_number):
        raise Refused("u_number", "U-nummer ska vara U och 9 siffror")
    patient = _personnummer(payload)
    article = _field(payload, "article", str)
    _positive(payload, "packages", default=1)
    existing = conn.execute("SELECT record_id FROM withdrawals WHERE u_number = ?", (u_number,)).fetchone()
    if existing:
        return Conflict({"type": "number_taken", "existing_id": existing[0],
                         "detail": f"{u_number} är redan registrerat", "existing": _summary(conn, existing[0])})
    row = _row_for(conn, site, payload, patient, article)
    if row is None or row[1] != "active":
        return Conflict({"type": "no_active_row", "existing_id": row[2] if row else None,
                         "detail": "patienten har ingen aktiv rad för artikeln"})
    if row[4] >= row[3]:
        return Conflict({"type": "no_withdrawals_left", "existing_id": row[2],
                         "detail": "alla uttag på raden är redan gjorda"})
    conn.execute("UPDATE prescription_rows SET withdrawals_used = withdrawals_used + 1 WHERE id = ?", (row[0],))
    record_id = _insert_record(conn, ids, "withdrawal", site, key, payload, now, form_number=u_number)
    conn.execute("INSERT INTO withdrawals (u_number, record_id, status, changed_at, seq) VALUES (?, ?, 'sent', ?, ?)",
                 (u_number, record_id, now, ids.seq()))
    return Created(record_id)


def _apply_lines(kind: str, *, to_warehouse: bool = False):
    """Orders, stock moves and outbound deliveries: lines, warehouses by number, an optional recipient."""

    def apply(conn: sqlite3.Connection, ids: Ids, site: str, key: str, payload: dict, now: str) -> Result:
        _lines(payload)
        _warehouse(payload, "from_warehouse", required=False)
        _warehouse(payload, "to_warehouse", required=to_warehouse)
        _recipient(payload)
        number, conflict = _form_number(conn, kind, payload)
        if conflict:
            return conflict
        return Created(_insert_record(conn, ids, kind, site, key, payload, now, form_number=number))

    return apply


def apply_work_order(conn: sqlite3.Connection, ids: Ids, site: str, key: str, payload: dict, now: str) -> Result:
    description = _field(payload, "description", str)
    if not description.strip():
        raise Refused("description", "beskrivning saknas")
    number, conflict = _form_number(conn, "work_order", payload)
    if conflict:
        return conflict
    return Created(_insert_record(conn, ids, "work_order", site, key, payload, now, form_number=number))


APPLY: dict[str, Callable[..., Result]] = {
    "prescription": apply_prescription,
    "prescription_cancel": apply_prescription_cancel,
    "withdrawal": apply_withdrawal,
    "order": _apply_lines("order"),
    "stock_move": _apply_lines("stock_move", to_warehouse=True),
    "outbound_delivery": _apply_lines("outbound_delivery"),
    "work_order": apply_work_order,
}


def apply(kind: str, conn: sqlite3.Connection, ids: Ids, site: str, key: str, payload: dict, now: str) -> Result:
    """Apply one item; a payload that breaks the contract comes back Invalid with the field named."""
    handler = APPLY.get(kind)
    if handler is None:
        return Invalid({"type": "unknown_kind", "detail": f"okänd typ {kind!r}"})
    try:
        return handler(conn, ids, site, key, payload, now)
    except Refused as exc:
        return Invalid(exc.problem)
