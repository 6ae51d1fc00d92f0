"""Patient search at a region's size: what one search costs the store, counted in statements.

A search page is an indexed range read of ten patients: the user with the roles its permission check
reads (one statement), the pager's count and the page. Its access-log rows are one line in the access
journal on SQLite (core.privacy.access_journal), one INSERT on PostgreSQL.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from core.auth.roles import Role
from core.extensions import db
from core.models import AccessLogEntry
from core.privacy import access_journal
from core.privacy.access_journal import ingest_pending
from tests import factories
from tests.conftest import api_token, login

NOISE = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")  # the test's outer transaction and its savepoints


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        if not statement.lstrip().upper().startswith(NOISE):
            seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _patients_born_in(year: int, month: int, count: int) -> list[int]:
    return [factories.patient(personnummer=factories.make_personnummer(year, month, day)).id
            for day in range(1, count + 1)]


def _tables(statement: str) -> str:
    return statement.split(" FROM ", 1)[1].split(" WHERE ", 1)[0] if " FROM " in statement else statement


def test_an_api_search_is_three_statements_and_its_log_rows_one_journal_line_or_one_insert(client, ctx):
    factories.user("karin", roles=(Role.PRESCRIBER,), areas=("inkontinens",))
    token = api_token(client, "karin")
    shown = _patients_born_in(1931, 7, 12)
    with statements() as seen:
        answer = client.get("/api/v1/patients?q=193107&per_page=10", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.get_json()["total"] == 12
    journal = access_journal.current()
    assert len(seen) == (3 if journal else 4), seen
    user, count, page, *insert = seen
    assert "api_tokens" in user and "user_roles" in user  # token, user and roles at once
    assert "count(*)" in count and "patients" in page
    if journal:  # SQLite: no statement at all for the log, one line in this process's journal file
        [line] = b"".join(path.read_bytes() for path in journal.directory.glob("*.journal")).splitlines()
        assert len(json.loads(line)) == 10
    else:
        assert insert[0].startswith("INSERT INTO access_log") and insert[0].count("), (") == 9  # ten rows, one statement
    ingest_pending()  # as every reader of the log does first
    logged = db.session.scalars(select(AccessLogEntry.patient_id).where(AccessLogEntry.action == "search"))
    assert sorted(logged) == shown[:10]


def test_a_search_page_loads_the_user_and_roles_in_one_statement_and_no_product_areas(client, ctx):
    factories.user("karin", roles=(Role.PRESCRIBER,), areas=("inkontinens",))
    login(client, "karin")
    _patients_born_in(1931, 8, 3)
    db.session.expunge_all()  # the request loads its user itself, not from what the test made
    with statements() as seen:
        assert client.get("/patient/?sok=1&q=193108").status_code == 200
    users = [s for s in seen if "FROM users" in s]
    assert len(users) == 1 and "user_roles" in _tables(users[0]), seen
    assert not [s for s in seen if "user_product_areas" in s or _tables(s).strip() == "user_roles"], seen
