"""Drill mode: the whole reserve routine, run in a sandbox store with an accelerated clock.

An admin starts a drill; it builds a throwaway SQLite store with synthetic demo data (never a
copy of production), then plays the outage day in simulated time: the kit is printed, the
main server stops, the monitor opens the incident and its checklist, people do their steps,
four hours pass without a prognosis, customer service captures what is phoned in, the server
returns, and everything is back-registered to the reference main server through the sync
engine's own command. The report says what was done, by whom, and how long each step took,
in simulated time (after the outage start) and in real time.

The drill page runs it outside the request, in a process of its own (drill_runs.py);
`run_drill` runs it here, for the CLI and tests.
"""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select

from core.clock import utcnow
from core.errors import DomainError
from core.extensions import db
from core.models import User
from core.privacy import access_journal
from reserve import drill_runs
from reserve.drill_runs import ROOT
from reserve.models import Drill, ReserveItem
from reserve.rules import CHANNEL_LABELS, DRILL_FAILED, DRILL_FINISHED, KIND_LABELS
from app.drills.recorder import Recorder, offset
from app.drills.script import OutageDay, Prober, seed_rows
from core.formatting import duration_text, local_text

SANDBOX_PATIENTS = 40
SPEED_NOTE = "accelererad klocka"
PLAYING = "Driftstörningen spelas upp"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sandbox_app(database_url: str, main_server_url: str) -> Flask:
    """Return an app of its own on the sandbox store, configured like this one, without review or mail."""
    from app import create_app

    values = {key: value for key, value in current_app.config.items() if key.isupper()}
    values.update(SQLALCHEMY_DATABASE_URI=database_url, SQLALCHEMY_ENGINE_OPTIONS={}, TESTING=True,
                  MAIN_SERVER_URL=main_server_url, REFERENCE_TARGET_URL="http://drill.invalid/health",
                  STATUS_ESCALATION_RECIPIENTS={}, STATUS_SERVICEDESK_WEBHOOK_URL=None, SYNC_REVIEW={},
                  STATUS_PAGE_CACHE_SECONDS=0, SERVER_NAME=None)
    return create_app(type("DrillConfig", (), values))


def run_drill(actor: User, now: datetime | None = None) -> Drill:
    """Run a whole drill in this process and return it (the CLI and tests; the page starts a process)."""
    drill = drill_runs.queue(actor, utcnow())
    return execute(drill.id, now)


def execute(drill_id: int, now: datetime | None = None) -> Drill:
    """Claim a queued drill, run it in its sandbox and store its report; production data is never touched.

    Whatever stops it, a Python error or SIGTERM, the drill is stored as failed with the steps
    done so far.
    """
    drill = db.session.get(Drill, drill_id)
    if drill is None:
        raise DomainError(f"Övning {drill_id} finns inte.")
    path = Path(drill.sandbox)
    production = current_app._get_current_object()

    def progress(phase: str, events: list[dict]) -> None:
        with production.app_context():
            drill_runs.record_progress(drill_id, phase, events, utcnow())

    log = Recorder((now or utcnow()).replace(second=0, microsecond=0), on_step=partial(progress, PLAYING))
    status, report = DRILL_FAILED, {"summary": "Övningen avbröts innan den var klar.", "events": log.events}
    started = time.perf_counter()
    claimed = False
    try:
        with _sigterm_held():  # a SIGTERM between the claim's commit and `claimed` would leave it "running"
            claimed = drill_runs.claim(drill_id, utcnow())
        if not claimed:
            raise DomainError(f"Övning {drill_id} är redan startad eller avslutad.")
        progress("Sandlådan skapas", [])
        report = _run_in_sandbox(log, path)
        status = DRILL_FINISHED
    except Exception as exc:  # a drill that breaks must say so in its report, not vanish
        if not claimed:
            raise
        current_app.logger.exception("drill %s failed", drill_id)
        report = {"summary": f"Övningen avbröts: {type(exc).__name__}: {exc}", "events": log.events}
    finally:
        if claimed:
            report["real_seconds"] = round(time.perf_counter() - started, 2)
            drill_runs.finish(drill_id, status, report, utcnow())
    return db.session.get(Drill, drill_id, populate_existing=True)


@contextmanager
def _sigterm_held() -> Iterator[None]:
    """Hold SIGTERM back meanwhile (the `flask reserve run-drill` process turns it into SystemExit)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _run_in_sandbox(log: Recorder, path: Path) -> dict:
    path.unlink(missing_ok=True)
    access_journal.remove_beside(path)  # the last drill's displays are not this sandbox's
    port = _free_port()
    _migrate(path)
    sandbox = sandbox_app(f"sqlite:///{path}", f"http://127.0.0.1:{port}")
    with sandbox.app_context():
        try:
            return _play(sandbox, log, port, path)
        finally:
            db.session.remove()
            db.engine.dispose()


def _flask(args: list[str], path: Path, timeout: float, **env: str) -> subprocess.CompletedProcess:
    """Run a `flask` command on the sandbox store in a process of its own."""
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT,
                          env=drill_runs.flask_environment(f"sqlite:///{path}", **env), capture_output=True,
                          text=True, timeout=timeout)


def _migrate(path: Path) -> None:
    """Migrate the sandbox store the way any store is: `flask db upgrade`, as its own step."""
    done = _flask(["db", "upgrade"], path, 120)
    if done.returncode != 0:
        raise RuntimeError(f"the sandbox store could not be migrated: {done.stderr.strip()[-300:]}")


def _play(sandbox: Flask, log: Recorder, port: int, path: Path) -> dict:
    """Play the outage day in the sandbox; return the report."""
    from app.demo.seed import seed_demo

    seed_demo(SANDBOX_PATIENTS)
    seed_rows()
    day = OutageDay(log, Prober(sandbox.config["MAIN_SERVER_URL"]), sandbox.extensions["reserve.runbooks"])
    day.before_the_outage()
    day.outage_confirmed()
    day.first_four_hours()
    day.reserve_routine()
    day.recovery(partial(_back_register, port, path))
    return _report(log, day.incident_id, log.start, day.at(321))


def _back_register(port: int, path: Path) -> tuple[str, bool]:
    """Start the reference main server on loopback and drain the sandbox's outbox with `flask sync run`."""
    server_db = Path(tempfile.mkdtemp(prefix="ovning-huvudserver-")) / "main.sqlite3"
    server = subprocess.Popen([sys.executable, "-m", "sync.reference_server", "--host", "127.0.0.1",
                               "--port", str(port), "--db", str(server_db)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port)
        run = _flask(["sync", "run", "--timeout", "20", "--quiet"], path, 60,
                     MAIN_SERVER_URL=f"http://127.0.0.1:{port}", SYNC_REVIEW="{}")
        text = (run.stdout.strip().splitlines() or [""])[-1] if run.returncode == 0 else (
            run.stderr.strip().splitlines() or ["flask sync run misslyckades"])[-1]
        return text[:300], run.returncode == 0
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Efterregistreringen kunde inte köras: {exc}", False
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_for(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise OSError(f"the reference main server did not start on port {port}")


def _report(log: Recorder, incident_id: int, start: datetime, end: datetime) -> dict:
    from reserve.checklists import checklists_of
    from reserve.registrations import traces_of

    steps = []
    for checklist in checklists_of(incident_id):
        for step in checklist.steps:
            after = offset(start, step.done_at) if step.done_at else None
            steps.append({"checklist": checklist.title, "step": step.title,
                          "due": local_text(step.due_at) if step.due_at else None,
                          "done": local_text(step.done_at) if step.done_at else (
                              "Ej aktuell" if step.not_applicable else None),
                          "after": after, "by": step.actor, "late": bool(step.due_at and step.done_at
                                                                         and step.done_at > step.due_at)})
    items = list(db.session.scalars(select(ReserveItem).order_by(ReserveItem.priority, ReserveItem.captured_at)))
    traces = traces_of(items)
    rows = [{"number": i.reserve_number, "kind": KIND_LABELS[i.kind], "channel": CHANNEL_LABELS[i.channel],
             "state": traces[i.outbox_key].state_label if i.outbox_key in traces else i.status,
             "server_id": i.main_server_id} for i in items]
    applicable = [s for s in steps if s["done"] != "Ej aktuell"]
    done = sum(1 for s in applicable if s["done"])
    registered = sum(1 for i in items if i.main_server_id)
    simulated = end - start
    real = sum(e["real_ms"] for e in log.events) / 1000
    expected = sum(1 for e in log.events if e["ok"])
    return {
        "summary": (f"Övningen simulerade {duration_text(int(simulated.total_seconds()))} av driftstörning på "
                    f"{real:.1f} s verklig tid ({SPEED_NOTE}). {expected} av {len(log.events)} moment gick som "
                    f"väntat. {done} av {len(applicable)} aktuella checklistesteg avklarade. "
                    f"{len(items)} reservärenden "
                    f"registrerade, {registered} efterregistrerade hos referensservern."),
        "events": log.events, "checklist": steps, "items": rows,
    }
