"""Sync test kit: the reference main server as a real process on loopback, stores, captured items.

Every test that talks to a main server starts its own reference server process
(`python -m sync.reference_server --port 0`), so faults and registrations never leak between
tests. Nothing here mocks HTTP: the sender talks to the real server through core.outbound.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from core.store import begin_write
from status import incidents
from status.scenarios import Scenario
from status.settings import current_settings
from sync.models import OutboxItem
from sync.outbox import enqueue
from sync.sender import Sender
from sync.settings import SyncSettings
from tests.service.status.conftest import free_port  # noqa: F401 - re-exported for the sync tests

ROOT = Path(__file__).resolve().parents[3]
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))

# Sync settings for tests: short leases, fast backoff, a breaker that reopens quickly.
FAST = {
    "SYNC_SITE_ID": "test-site",
    "SYNC_BATCH_SIZE": 20,
    "SYNC_LEASE_SECONDS": 2.0,
    "SYNC_CONNECT_TIMEOUT": 0.5,
    "SYNC_READ_TIMEOUT": 2.0,
    "SYNC_BACKOFF_BASE_SECONDS": 0.01,
    "SYNC_BACKOFF_CAP_SECONDS": 0.05,
    "SYNC_IN_PROGRESS_RETRY_SECONDS": 0.05,
    "SYNC_BREAKER_FAILURES": 3,
    "SYNC_BREAKER_COOLDOWN_SECONDS": 0.05,
    "SYNC_BREAKER_COOLDOWN_CAP_SECONDS": 0.2,
}


class ReferenceServer:
    """A reference main server process with its own store; stop, kill, restart and set faults."""

    def __init__(self, directory: Path, name: str = "main") -> None:
        self.directory = directory
        self.db_path = directory / f"{name}.sqlite3"
        self.log_path = directory / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, "server never started"
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str, port: int | None = None) -> ReferenceServer:
        """Start (again) on the same port and store; wait until /health answers."""
        port = port if port is not None else (self.port or 0)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sync.reference_server", "--port", str(port), "--db", str(self.db_path), *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=log)
        log.close()
        line = self.process.stdout.readline().decode()
        self.process.stdout.close()
        assert "listening on" in line, self.log_path.read_text()
        self.port = int(line.split("http://127.0.0.1:")[1].split()[0])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.02)
        raise AssertionError("reference server did not come up")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.url + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def faults(self, **values: Any) -> dict:
        return self.admin("POST", "/admin/faults", values)

    def registrations(self, site: str | None = "test-site") -> list[dict]:
        """Read the server's registrations straight from its store (works while it is stopped too)."""
        with sqlite3.connect(self.db_path) as conn:
            rows = conn.execute("SELECT site, key, kind, outcome, record_id, problem FROM registrations "
                                + ("WHERE site = ? " if site else "") + "ORDER BY rowid",
                                (site,) if site else ()).fetchall()
        conn.close()
        return [{"site": r[0], "key": r[1], "kind": r[2], "outcome": r[3], "id": r[4],
                 "problem": json.loads(r[5]) if r[5] else None} for r in rows]

    def created(self, site: str = "test-site") -> dict[str, str]:
        """Return key → record id of what the server registered for the site."""
        return {r["key"]: r["id"] for r in self.registrations(site) if r["outcome"] == "created"}

    def record_count(self) -> int:
        with sqlite3.connect(self.db_path) as conn:
            count = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        conn.close()
        return count

    def backup(self, target: Path) -> None:
        self.admin("POST", "/admin/backup", {"path": str(target)})


@pytest.fixture
def main_server(tmp_path: Path) -> Iterator[ReferenceServer]:
    server = ReferenceServer(tmp_path).start()
    yield server
    server.stop()


def configure(app: Flask, monkeypatch: pytest.MonkeyPatch, server_url: str, **overrides: Any) -> None:
    for key, value in {**FAST, "MAIN_SERVER_URL": server_url, **overrides}.items():
        monkeypatch.setitem(app.config, key, value)


def settings_for(app: Flask) -> SyncSettings:
    return SyncSettings.from_config(app.config)


@pytest.fixture
def sync_app(committed_app: Flask, main_server: ReferenceServer, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """A committed store whose app points at a fresh reference main server, with fast sync settings."""
    configure(committed_app, monkeypatch, main_server.url)
    return committed_app


# --- Captured items --------------------------------------------------------------------------------

def payload_for(kind: str, n: int) -> dict:
    """A valid payload of the kind; `n` makes it distinct (own patient, own article)."""
    patient = {"personnummer": f"1950{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 10000:04d}"}
    article = f"A{n:07d}"
    if kind == "prescription":
        return {"patient": patient, "rows": [{"article": article, "packages_per_withdrawal": 2, "withdrawals": 4}],
                "prescribed_on": "2026-11-02", "number": 300_000_000 + n}
    if kind == "prescription_cancel":
        return {"patient": patient, "article": article, "prescription_key": None}
    if kind == "withdrawal":
        return {"u_number": f"U{800_000_000 + n}", "patient": patient, "article": article, "packages": 1}
    if kind == "stock_move":
        return {"lines": [{"article": article, "quantity": 5}], "to_warehouse": 50301}
    if kind == "work_order":
        return {"description": f"Byt batteri, rullstol {n}"}
    return {"lines": [{"article": article, "quantity": 1}], "recipient": {"unit": "03-05"}}


def capture(app: Flask, count: int, kinds: tuple[str, ...] = ("stock_move", "order", "work_order", "prescription"),
            *, start: int = 0, ordering: bool = False, **kwargs: Any) -> list[str]:
    """Enqueue `count` items (one transaction per 500) and commit; return their keys in capture order."""
    keys = []
    with app.app_context():
        for first in range(0, count, 500):
            begin_write()
            for n in range(start + first, start + min(first + 500, count)):
                kind = kinds[n % len(kinds)]
                item = enqueue(kind, payload_for(kind, n), ordering_key=f"patient:{n % 50}" if ordering else None,
                               **kwargs)
                keys.append(item.key)
            db.session.commit()
        db.session.remove()
    return keys


def items(app: Flask) -> list[OutboxItem]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def drain(app: Flask, *, seconds: float = 30, clock=utcnow, worker: str | None = None) -> None:  # noqa: ANN001
    """Run senders until nothing pending or in flight remains (leases allowed to expire)."""
    deadline = time.monotonic() + seconds
    with app.app_context():
        sender = Sender(settings_for(app), worker, clock=clock)
        while time.monotonic() < deadline:
            sender.run(trigger="test")
            left = db.session.scalar(select(OutboxItem.id).where(OutboxItem.state.in_(("pending", "in_flight")))
                                     .limit(1))
            db.session.commit()
            if left is None:
                db.session.remove()
                return
            time.sleep(0.02)
        db.session.remove()
    raise AssertionError("outbox not drained in time")


def assert_exactly_once(app: Flask, server: ReferenceServer, site: str = "test-site") -> None:
    """0 lost, 0 duplicated: every acked item's id is the server's for its key, and the server has nothing else."""
    local = items(app)
    created = server.created(site)
    acked = {i.key: i.server_id for i in local if i.state == "acked"}
    assert not [i for i in local if i.state in ("pending", "in_flight")]
    assert acked == {k: v for k, v in created.items() if k in acked}, "an acked item's id differs from the server's"
    unknown = set(created) - {i.key for i in local}
    assert not unknown, f"the server registered keys we never captured: {sorted(unknown)[:3]}"
    not_acked = [i for i in local if i.key in created and i.state != "acked"]
    assert not not_acked, f"registered at the server but not acked here: {[(i.key, i.state) for i in not_acked][:3]}"
    ids = list(created.values())
    assert len(ids) == len(set(ids)), "two keys share one server id"


def integrity_ok(app: Flask) -> bool:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return True
        result = db.session.execute(db.text("PRAGMA integrity_check")).scalar()
        db.session.remove()
    return result == "ok"


def random_key() -> str:
    return str(uuid.uuid4())



# --- A prescribing world (service-level tests in the rolled-back store) ---------------------------------

@pytest.fixture
def world(ctx):
    """A prescriber for incontinence at one unit, a patient and two articles; hms_staff and an IT person."""
    return make_world()


@pytest.fixture
def committed_world(sync_app: Flask) -> dict:
    """The same world in the committed store of `sync_app` (ids only: objects are detached)."""
    with sync_app.app_context():
        world = make_world()
        db.session.remove()
    return world


def make_world() -> dict:
    from core.auth.roles import Role
    from tests import factories

    unit = factories.unit(name="Vårdcentralen Norr", payer_areas=("inkontinens",))
    karin = factories.user("karin", roles=(Role.PRESCRIBER,), areas=("inkontinens",), units=(unit,),
                           name="Karin Förskrivare", hsa_id="SE2321000016-K1")
    hanna = factories.user("hanna", roles=(Role.HMS_STAFF,), name="Hanna Hjälpmedel")
    ivar = factories.user("ivar", roles=(Role.IT_STAFF,), name="Ivar IT")
    kim = factories.user("kim", roles=(Role.CUSTOMER_SERVICE,), name="Kim Kundservice")
    teo = factories.user("teo", roles=(Role.TECHNICIAN,), name="Teo Tekniker")
    patient = factories.patient(first_name="Åke", last_name="Öberg")
    pads = factories.article(number="310001", name="Inkontinensskydd Maxi", package_size=30)
    liners = factories.article(number="310002", name="Inlägg Normal", package_size=20)
    return {"karin": karin, "hanna": hanna, "ivar": ivar, "kim": kim, "teo": teo, "patient": patient,
            "pads": pads, "liners": liners, "unit": unit}


def prescribe(world: dict, *articles, copied_from: dict | None = None):  # noqa: ANN201
    """Save a prescription through the prescribing service (which writes the outbox items)."""
    from app.prescribing.services import PrescriptionInput, RowInput, create_prescription

    articles = articles or (world["pads"],)
    rows = tuple(RowInput(article_id=a.id, withdrawals=4, packages_per_withdrawal=2,
                          copied_from_id=(copied_from or {}).get(a.id)) for a in articles)
    return create_prescription(world["karin"], PrescriptionInput(world["patient"].id, "inkontinens",
                                                                 world["unit"].id, rows))


def reload(world: dict) -> dict:
    """Return the world's objects loaded in the current session (after a committed fixture detached them)."""
    return {name: db.session.get(type(obj), obj.id) for name, obj in world.items()}


def incident_with_items(world: dict) -> tuple[int, list[OutboxItem]]:
    """Open an outage incident; capture under it by phone, for review: three orders and a prescription."""
    begin_write()
    incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow() - timedelta(hours=5), utcnow(),
                                       current_settings())
    db.session.commit()
    begin_write()
    made = [enqueue("order", payload_for("order", n), requires_review=True, channel="phone",
                    created_by_id=world["kim"].id) for n in range(3)]
    made.append(enqueue("prescription", payload_for("prescription", 9) | {
        "patient": {"personnummer": world["patient"].personnummer}}, requires_review=True,
        created_by_id=world["kim"].id))
    db.session.commit()
    return incident.id, made
