"""Drills outside the web request: the drill page queues one and starts `flask reserve run-drill`
in a process of its own, which claims it, writes its progress (a sign of life) after every step
and stores the report. The monitor is not involved.

A drill whose process dies without a word is shown as abandoned once it has been silent for
DRILL_SILENCE_LIMIT; one that fails in Python stores a failed report itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select, update

from core.errors import DomainError
from core.extensions import db
from core.models import User
from core.store import begin_write
from reserve.models import Drill
from reserve.rules import DRILL_FAILED, DRILL_QUEUED, DRILL_RUNNING, DRILL_STATE_LABELS, drill_state

ROOT = Path(__file__).resolve().parent.parent
ALREADY_RUNNING = "En övning pågår redan. Vänta tills den är klar innan du startar en ny."
# Started drill processes, kept so that each is waited for (no zombies, no ResourceWarning).
_PROCESSES: list[subprocess.Popen] = []


@dataclass(frozen=True)
class DrillView:
    """A drill as its page shows it: its state, and either its progress or its report."""

    drill: Drill
    state: str
    progress: dict | None  # while running: {"phase", "heartbeat", "events"}
    report: dict | None  # once finished or failed
    last_sign_of_life: datetime | None = None  # while running

    @property
    def label(self) -> str:
        return DRILL_STATE_LABELS[self.state]

    @property
    def under_way(self) -> bool:
        return self.state in (DRILL_QUEUED, DRILL_RUNNING)


def view(drill: Drill, now: datetime) -> DrillView:
    """Return how the drill stands at `now`."""
    data = json.loads(drill.report) if drill.report else None
    if drill.status != DRILL_RUNNING:
        return DrillView(drill, drill.status, None, data)
    heartbeat = datetime.fromisoformat(data["heartbeat"]) if data else drill.started_at
    state = drill_state(status=drill.status, claimed=data is not None, last_sign_of_life=heartbeat, now=now)
    return DrillView(drill, state, data, None, heartbeat)


def recent(now: datetime, limit: int = 20) -> list[DrillView]:
    return [view(d, now) for d in db.session.scalars(select(Drill).order_by(Drill.started_at.desc(), Drill.id.desc())
                                                     .limit(limit))]


def store_dir() -> Path:
    """Return the directory of the drills' sandbox stores and logs, creating it."""
    directory = Path(current_app.config.get("RESERVE_DRILL_DIR") or Path(current_app.instance_path) / "drills")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def queue(actor: User, now: datetime) -> Drill:
    """Store a drill to be run, with its sandbox path; refuse while another is under way."""
    begin_write()
    running = db.session.scalars(select(Drill).where(Drill.status == DRILL_RUNNING))
    if any(view(other, now).under_way for other in running):
        db.session.rollback()
        raise DomainError(ALREADY_RUNNING)
    drill = Drill(started_by_id=actor.id, started_at=now, status=DRILL_RUNNING)
    db.session.add(drill)
    db.session.flush()
    drill.sandbox = str(store_dir() / f"ovning-{drill.id}.sqlite3")
    db.session.commit()
    return drill


def start(actor: User, now: datetime) -> Drill:
    """Queue a drill and start the process that runs it; return at once."""
    drill = queue(actor, now)
    try:
        launch(current_app, drill)
    except OSError as exc:
        finish(drill.id, DRILL_FAILED, {"summary": f"Övningen kunde inte startas: {exc}", "events": []}, now)
    return drill


def flask_environment(database_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a `flask` process of this app on the given store."""
    return {**os.environ, "FLASK_APP": "app", "DATABASE_URL": database_url, **extra}


def child_environment(app: Flask) -> dict[str, str]:
    """Return the environment of a drill process: this one's, on this app's store with its secret key.

    The store URL is passed whole, so a PostgreSQL schema chosen in its options (search_path)
    comes along.
    """
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    url = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    return flask_environment(url, SECRET_KEY=str(app.config["SECRET_KEY"]))


def launch(app: Flask, drill: Drill) -> subprocess.Popen:
    """Start `flask reserve run-drill` for the drill in a session of its own; its output goes to a log."""
    reap()
    log = Path(drill.sandbox).with_suffix(".log")
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "flask", "reserve", "run-drill", str(drill.id)],
                                   cwd=ROOT, env=child_environment(app), stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    _PROCESSES.append(process)
    return process


def reap(timeout: float = 0.0) -> int:
    """Wait up to `timeout` seconds for started drill processes to exit; return how many still run."""
    for process in list(_PROCESSES):
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
        _PROCESSES.remove(process)
    return len(_PROCESSES)


def _progress(phase: str, events: list[dict], now: datetime) -> str:
    return json.dumps({"phase": phase, "heartbeat": now.isoformat(), "events": events}, ensure_ascii=False,
                      default=str)


def claim(drill_id: int, now: datetime) -> bool:
    """Take a queued drill to run it; exactly one process can."""
    begin_write()
    claimed = db.session.execute(update(Drill).where(Drill.id == drill_id, Drill.status == DRILL_RUNNING,
                                                     Drill.report.is_(None))
                                 .values(report=_progress("Övningen startar", [], now)))
    db.session.commit()
    return claimed.rowcount == 1


def record_progress(drill_id: int, phase: str, events: list[dict], now: datetime) -> None:
    """Store what the drill has done so far; it is also its sign of life."""
    begin_write()
    db.session.execute(update(Drill).where(Drill.id == drill_id, Drill.status == DRILL_RUNNING)
                       .values(report=_progress(phase, events, now)))
    db.session.commit()


def finish(drill_id: int, status: str, report: dict, now: datetime) -> None:
    """Store the drill's outcome and report."""
    db.session.rollback()  # whatever the failure left open
    begin_write()
    db.session.execute(update(Drill).where(Drill.id == drill_id).values(
        status=status, finished_at=now, report=json.dumps(report, ensure_ascii=False, default=str)))
    db.session.commit()
