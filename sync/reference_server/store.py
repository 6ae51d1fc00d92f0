"""The reference main server's own SQLite store: registrations, records, master data, changes feed.

Deduplication is permanent: the registrations table's primary key is (site, key), and the
original answer (its record id, or the conflict) is kept there for good. A batch is one
transaction: it commits (durably, synchronous=FULL) before the answer is written, so an
answer that never arrives still means "registered".
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sync.reference_server import domain
from sync.rules import KINDS, canonical_json, payload_hash

SCHEMA = """
CREATE TABLE IF NOT EXISTS registrations (
    site TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('created', 'conflict')),
    record_id TEXT,
    problem TEXT,
    received_at TEXT NOT NULL,
    PRIMARY KEY (site, key)
);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    site TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    form_number TEXT,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_form_number ON records (kind, form_number) WHERE form_number IS NOT NULL;
CREATE TABLE IF NOT EXISTS prescription_rows (
    id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL REFERENCES records (id),
    patient TEXT NOT NULL,
    article TEXT NOT NULL,
    status TEXT NOT NULL,
    withdrawals INTEGER NOT NULL,
    withdrawals_used INTEGER NOT NULL DEFAULT 0,
    local_ref TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_row ON prescription_rows (patient, article) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS prescription_rows_record ON prescription_rows (record_id);
CREATE TABLE IF NOT EXISTS articles (number TEXT PRIMARY KEY, data TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS articles_seq ON articles (seq);
CREATE TABLE IF NOT EXISTS patients (personnummer TEXT PRIMARY KEY, data TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS patients_seq ON patients (seq);
CREATE TABLE IF NOT EXISTS withdrawals (
    u_number TEXT PRIMARY KEY,
    record_id TEXT,
    status TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS withdrawals_seq ON withdrawals (seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

MAX_KEY_LENGTH = 64
ARTICLE_FIELDS = ("number", "name", "package_size", "unit_price", "product_area", "supplier",
                  "supplier_article_number", "product_group", "subgroup", "is_active")
PATIENT_FIELDS = ("personnummer", "first_name", "last_name", "registered_street", "registered_postal_code",
                  "registered_city")


def _now() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ItemResult:
    key: Any
    status: str
    id: str | None = None
    problem: dict | None = None

    def as_json(self) -> dict:
        return {"key": self.key, "status": self.status, "id": self.id, "problem": self.problem}


class Store:
    """One connection, one lock: the reference server writes one batch at a time."""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)
        self.lock = threading.Lock()
        # Reads (/have, the changes feed, records) use a connection of their own: in WAL mode they
        # see the last commit and never wait for a batch that is being written.
        self.reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.read_lock = threading.Lock()
        # Keys some request is working on right now: a second request for one answers in_progress.
        self._working: set[tuple[str, str]] = set()
        self._working_lock = threading.Lock()

    def close(self) -> None:
        with self.lock, self.read_lock:
            self.conn.close()
            self.reader.close()

    # --- POST /api/v1/batch ----------------------------------------------------------------

    def register_batch(self, site: str, items: list[Any], before_commit=None) -> list[ItemResult]:  # noqa: ANN001
        """Register the items in order, one transaction for the batch; return one result per item."""
        claimed, results = self._claim_keys(site, items)
        try:
            with self.lock:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    ids = domain.Ids(self.conn)
                    now = _now()
                    for index, item in enumerate(items):
                        if results[index] is None:
                            results[index] = self._register(site, item, ids, now)
                    if before_commit:
                        before_commit()
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
        finally:
            with self._working_lock:
                self._working.difference_update(claimed)
        return results  # type: ignore[return-value]

    def _claim_keys(self, site: str, items: list[Any]) -> tuple[set, list[ItemResult | None]]:
        results: list[ItemResult | None] = [None] * len(items)
        claimed: set[tuple[str, str]] = set()
        with self._working_lock:
            for index, item in enumerate(items):
                key = item.get("key") if isinstance(item, dict) else None
                if not isinstance(key, str):
                    continue
                if (site, key) in self._working:
                    results[index] = ItemResult(key, "in_progress")
                elif (site, key) not in claimed:
                    claimed.add((site, key))
            self._working.update(claimed)
        return claimed, results

    def _register(self, site: str, item: Any, ids: domain.Ids, now: str) -> ItemResult:
        if not isinstance(item, dict):
            return ItemResult(None, "invalid", problem={"type": "invalid_item", "detail": "posten ska vara ett objekt"})
        key, kind, payload = item.get("key"), item.get("kind"), item.get("payload")
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            return ItemResult(key, "invalid", problem={"type": "invalid_key", "detail": "nyckel saknas eller är för lång"})
        if kind not in KINDS:
            return ItemResult(key, "invalid", problem={"type": "unknown_kind", "detail": f"okänd typ {kind!r}"})
        if not isinstance(payload, dict):
            return ItemResult(key, "invalid", problem={"type": "invalid_payload", "detail": "payload ska vara ett objekt"})
        digest = payload_hash(canonical_json(payload))
        seen = self.conn.execute("SELECT payload_hash, outcome, record_id, problem, kind FROM registrations "
                                 "WHERE site = ? AND key = ?", (site, key)).fetchone()
        if seen is not None:
            if seen[0] != digest or seen[4] != kind:
                return ItemResult(key, "key_reused", id=seen[2],
                                  problem={"type": "key_reused", "detail": "nyckeln användes för annat innehåll"})
            if seen[1] == "created":
                return ItemResult(key, "duplicate", id=seen[2])
            return ItemResult(key, "conflict", problem=json.loads(seen[3]))  # the original answer, again
        self.conn.execute("SAVEPOINT item")
        try:
            result = domain.apply(kind, self.conn, ids, site, key, payload, now)
        except BaseException:
            self.conn.execute("ROLLBACK TO item")
            self.conn.execute("RELEASE item")
            raise
        if isinstance(result, domain.Invalid):
            # Nothing was done, so nothing is remembered: asking again gets the same refusal.
            self.conn.execute("ROLLBACK TO item")
            self.conn.execute("RELEASE item")
            return ItemResult(key, "invalid", problem=result.problem)
        if isinstance(result, domain.Conflict):
            self.conn.execute("ROLLBACK TO item")
            self.conn.execute("INSERT INTO registrations (site, key, kind, payload_hash, outcome, record_id, problem, "
                              "received_at) VALUES (?, ?, ?, ?, 'conflict', NULL, ?, ?)",
                              (site, key, kind, digest, json.dumps(result.problem, ensure_ascii=False), now))
            self.conn.execute("RELEASE item")
            return ItemResult(key, "conflict", problem=result.problem)
        self.conn.execute("INSERT INTO registrations (site, key, kind, payload_hash, outcome, record_id, problem, "
                          "received_at) VALUES (?, ?, ?, ?, 'created', ?, NULL, ?)",
                          (site, key, kind, digest, result.record_id, now))
        self.conn.execute("RELEASE item")
        return ItemResult(key, "created", id=result.record_id)

    # --- POST /api/v1/have -------------------------------------------------------------------

    def have(self, site: str, keys: Iterable[str]) -> dict[str, str]:
        """Return key → record id for the keys this site registered (created, not conflicts)."""
        keys = [k for k in keys if isinstance(k, str)]
        known: dict[str, str] = {}
        with self.read_lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = self.reader.execute(
                    f"SELECT key, record_id FROM registrations WHERE site = ? AND outcome = 'created' "
                    f"AND key IN ({', '.join('?' * len(chunk))})", (site, *chunk)).fetchall()
                known.update(dict(rows))
        return known

    # --- GET /api/v1/changes ---------------------------------------------------------------------

    def changes(self, since: int, limit: int) -> dict:
        """Return articles, patients and withdrawal statuses changed after the cursor, and the next cursor."""
        with self.read_lock:
            rows = self.reader.execute(
                "SELECT 'article', data, seq FROM articles WHERE seq > ? "
                "UNION ALL SELECT 'patient', data, seq FROM patients WHERE seq > ? "
                "UNION ALL SELECT 'withdrawal', json_object('u_number', u_number, 'status', status, "
                "'changed_at', changed_at), seq FROM withdrawals WHERE seq > ? "
                "ORDER BY seq LIMIT ?", (since, since, since, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        out: dict[str, Any] = {"articles": [], "patients": [], "withdrawals": []}
        for entity, data, _seq in rows:
            out[entity + "s"].append(json.loads(data))
        out["cursor"] = str(rows[-1][2] if rows else since)
        out["more"] = more
        return out

    def record(self, record_id: str) -> dict | None:
        with self.read_lock:
            return domain._summary(self.reader, record_id)

    # --- Loopback administration (demo and tests) ------------------------------------------------

    def upsert_master(self, articles: list[dict], patients: list[dict]) -> dict:
        """Add or change articles and patients; each change gets the next position in the feed."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                ids = domain.Ids(self.conn)
                for article in articles:
                    data = {k: article.get(k) for k in ARTICLE_FIELDS}
                    if not isinstance(data["number"], str):
                        raise ValueError("article number missing")
                    self.conn.execute("INSERT INTO articles (number, data, seq) VALUES (?, ?, ?) ON CONFLICT (number) "
                                      "DO UPDATE SET data = excluded.data, seq = excluded.seq",
                                      (data["number"], json.dumps(data, ensure_ascii=False), ids.seq()))
                for patient in patients:
                    data = {k: patient.get(k) for k in PATIENT_FIELDS}
                    if not isinstance(data["personnummer"], str) or not domain.PERSONNUMMER.match(data["personnummer"]):
                        raise ValueError("personnummer missing or malformed")
                    self.conn.execute("INSERT INTO patients (personnummer, data, seq) VALUES (?, ?, ?) ON CONFLICT "
                                      "(personnummer) DO UPDATE SET data = excluded.data, seq = excluded.seq",
                                      (data["personnummer"], json.dumps(data, ensure_ascii=False), ids.seq()))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return {"articles": len(articles), "patients": len(patients)}

    def set_withdrawal_status(self, u_number: str, status: str) -> bool:
        if status not in domain.WITHDRAWAL_STATUSES:
            raise ValueError(f"status must be one of {domain.WITHDRAWAL_STATUSES}")
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                seq = domain.Ids(self.conn).seq()
                cursor = self.conn.execute("UPDATE withdrawals SET status = ?, changed_at = ?, seq = ? WHERE u_number = ?",
                                           (status, _now(), seq, u_number))
                self.conn.execute("COMMIT" if cursor.rowcount == 1 else "ROLLBACK")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return cursor.rowcount == 1

    def registrations(self, site: str | None = None) -> list[dict]:
        query = "SELECT site, key, kind, outcome, record_id, problem FROM registrations"
        params: tuple = ()
        if site:
            query, params = query + " WHERE site = ?", (site,)
        with self.lock:
            rows = self.conn.execute(query + " ORDER BY rowid", params).fetchall()
        return [{"site": r[0], "key": r[1], "kind": r[2], "outcome": r[3], "id": r[4],
                 "problem": json.loads(r[5]) if r[5] else None} for r in rows]

    def stats(self) -> dict:
        with self.lock:
            registrations = dict(self.conn.execute(
                "SELECT outcome, count(*) FROM registrations GROUP BY outcome").fetchall())
            records = dict(self.conn.execute("SELECT kind, count(*) FROM records GROUP BY kind").fetchall())
            active_rows = self.conn.execute("SELECT count(*) FROM prescription_rows WHERE status = 'active'").fetchone()[0]
        return {"registrations": registrations, "records": records, "active_prescription_rows": active_rows}

    def backup(self, target: str) -> None:
        """Copy the store, consistently, to another file (for the restore-from-backup demo)."""
        with self.lock:
            destination = sqlite3.connect(target)
            try:
                self.conn.backup(destination)
            finally:
                destination.close()
