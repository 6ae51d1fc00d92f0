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

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select

from core.clock import utcnow
from core.errors import DomainError, ValidationFailed
from core.extensions import db
from core.models import Article, Patient, ProductArea, User
from reserve import drill_runs
from reserve.drill_runs import ROOT
from reserve.models import Checklist, Drill, ReserveItem
from reserve.rules import CHANNEL_LABELS, DRILL_FAILED, DRILL_FINISHED, KIND_LABELS
from status.probes import ProbeOutcome
from core.formatting import duration_text, local_text

SANDBOX_PATIENTS = 40
SPEED_NOTE = "accelererad klocka"
PLAYING = "Driftstörningen spelas upp"


@dataclass
class Recorder:
    """The drill's log: each step with its simulated moment, actor, result and real duration."""

    start: datetime
    on_step: Callable[[list[dict]], None] | None = None  # told after each step
    events: list[dict] = field(default_factory=list)

    @contextmanager
    def step(self, at: datetime, what: str, who: str):  # noqa: ANN201
        entry = {"sim_time": _offset(self.start, at), "what": what, "who": who, "result": "", "ok": True}
        began = time.perf_counter()
        try:
            yield entry
        except (DomainError, ValidationFailed) as exc:
            entry["ok"], entry["result"] = False, getattr(exc, "message", str(exc))
        finally:
            entry["real_ms"] = (time.perf_counter() - began) * 1000
            self.events.append(entry)
            if self.on_step is not None:
                self.on_step(self.events)


def _offset(start: datetime, at: datetime) -> str:
    seconds = int((at - start).total_seconds())
    sign = "−" if seconds < 0 else "+"
    return f"T{sign}{duration_text(abs(seconds))}"


class _Prober:
    def __init__(self, main_url: str) -> None:
        self.main_url, self.main_up = main_url, True

    def __call__(self, url: str, healthy, timeout) -> ProbeOutcome:  # noqa: ANN001
        up = self.main_up if url.startswith(self.main_url) else True
        return ProbeOutcome(up, 2, "HTTP 200" if up else "connection refused (övning)")


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
    if not drill_runs.claim(drill_id, utcnow()):
        raise DomainError(f"Övning {drill_id} är redan startad eller avslutad.")
    path = Path(db.session.get(Drill, drill_id).sandbox)
    production = current_app._get_current_object()

    def progress(phase: str, events: list[dict]) -> None:
        with production.app_context():
            drill_runs.record_progress(drill_id, phase, events, utcnow())

    log = Recorder((now or utcnow()).replace(second=0, microsecond=0), on_step=partial(progress, PLAYING))
    status, report = DRILL_FAILED, {"summary": "Övningen avbröts innan den var klar.", "events": log.events}
    started = time.perf_counter()
    try:
        progress("Sandlådan skapas", [])
        report = _run_in_sandbox(log, path)
        status = DRILL_FINISHED
    except Exception as exc:  # a drill that breaks must say so in its report, not vanish
        current_app.logger.exception("drill %s failed", drill_id)
        report = {"summary": f"Övningen avbröts: {type(exc).__name__}: {exc}", "events": log.events}
    finally:
        report["real_seconds"] = round(time.perf_counter() - started, 2)
        drill_runs.finish(drill_id, status, report, utcnow())
    return db.session.get(Drill, drill_id, populate_existing=True)


def _run_in_sandbox(log: Recorder, path: Path) -> dict:
    path.unlink(missing_ok=True)
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


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _play(sandbox: Flask, log: Recorder, port: int, path: Path) -> dict:
    """Play the outage day in the sandbox; return the report."""
    from app.demo.seed import seed_demo

    from reserve import calls, capture, checklists, kit
    from reserve.rules import CaptureInput
    from status import services

    seed_demo(SANDBOX_PATIENTS)
    _seed_rows()
    start = log.start
    prober = _Prober(sandbox.config["MAIN_SERVER_URL"])
    runbooks = sandbox.extensions["reserve.runbooks"]
    at = lambda minutes: start + timedelta(minutes=minutes)  # noqa: E731
    hms, agent, it, prescriber = _user("hms_staff"), _user("customer_service"), _user("it_staff"), _user("prescriber")
    admin = _user("admin")

    with log.step(at(-30), "Reservlådan skapas medan huvudsystemet fungerar", "systemet") as entry:
        services.run_probe_cycle(at(-31), prober=prober)
        made = kit.generate(at(-30))
        entry["result"] = f"{len(made.documents)} dokument, uppgifter per {local_text(made.data_as_of)}"
        printed = _printed_numbers()
    with log.step(at(0), "Huvudservern slutar svara; övervakningen bekräftar driftstörningen",
                  "övervakningen") as entry:
        prober.main_up = False
        for seconds in (0, 20, 40):
            services.run_probe_cycle(start + timedelta(seconds=seconds), prober=prober)
        state = services.current_reserve_state()
        if state is None:
            raise RuntimeError("the monitor opened no incident")
        entry["result"] = f"Händelse #{state.incident_id}: {state.scenario.guide.title}"
        incident_id = state.incident_id
    with log.step(at(1), "Checklistan skapas ur körboken", "systemet") as entry:
        checklists.reconcile(at(1))
        entry["result"] = f"{sum(len(c.steps) for c in checklists.checklists_of(incident_id))} steg"

    def tick(minutes: int, key: str, who: User, note: str) -> None:
        step = _step(incident_id, key)
        with log.step(at(minutes), f"Steg: {step.title}", who.name) as entry:
            checklists.tick_step(who, step.id, note, at(minutes))
            entry["result"] = "Klart"

    tick(4, "notify_system_owner", hms, "Övning: SA informerad per telefon.")
    tick(6, "inform_callers", agent, "Övning: inringande informeras och hänvisas till driftinfo.")
    with log.step(at(9), "Samtal loggas", agent.name) as entry:
        calls.log_call(agent, "prescriber", "outage", "informed", "Övning: hänvisad till driftinfo", None, at(9))
        entry["result"] = "Loggat"
    with log.step(at(15), "IT publicerar driftinfo", it.name) as entry:
        services.publish_driftinfo(it.id, "Övning: huvudsystemet går inte att nå",
                                   "Detta är en övning. Felsökning pågår.", incident_id, now=at(15))
        entry["result"] = "Publicerat"
    tick(20, "contact_supplier", admin, "Övning: ärende hos leverantören.")
    area, article = _article("inkontinens")
    patient, other = _patients(2)

    def capture_as(minutes: int, who: User, label: str, data: CaptureInput, expect_refusal: bool = False) -> None:
        with log.step(at(minutes), label, who.name) as entry:
            try:
                made_item = capture.capture(who, data, runbooks, at(minutes))
            except (ValidationFailed, DomainError) as exc:
                entry["result"] = f"Avvisades: {getattr(exc, 'message', None) or exc}"
                entry["ok"] = expect_refusal
                return
            entry["ok"] = not expect_refusal
            entry["result"] = f"{made_item.item.reserve_number}" + (
                f", flaggad som möjlig dubblett av {made_item.duplicate_of.reserve_number}"
                if made_item.duplicate_of else "")

    capture_as(30, hms, "Lagerflytt före fyra timmar (tillåten av körboken)",
               CaptureInput("stock_move", "phone", unit="420107", article=article.number, packages=40))
    capture_as(45, agent, "Akut förskrivning före fyra timmar (väntar på reservrutinen)",
               CaptureInput("prescription", "phone", patient=patient.personnummer, unit="410215",
                            article=article.number, packages=3, responsible_prescriber="prescriber"),
               expect_refusal=True)
    with log.step(at(240), "Fyra timmar utan prognos: reservrutinen aktiveras", "systemet") as entry:
        activated = services.run_reserve_check(at(240))
        checklists.reconcile(at(240))
        entry["result"] = "Aktiverad" if activated else "Inte aktiverad"
        entry["ok"] = bool(activated)
    tick(245, "get_kit", hms, f"Övning: reservlådan från {local_text(at(-30))} används.")
    capture_as(250, agent, "Akut förskrivning per telefon", CaptureInput(
        "prescription", "phone", patient=patient.personnummer, unit="410215", article=article.number, packages=3,
        responsible_prescriber="prescriber", note="Övning"))
    capture_as(255, agent, "Samma förskrivning på pappersblankett", CaptureInput(
        "prescription", "paper", patient=patient.personnummer, unit="410215", article=article.number, packages=3,
        responsible_prescriber="prescriber", reserve_number=printed[0] if printed else None))
    capture_as(260, agent, "Beställning per e-post med personnummer", CaptureInput(
        "order", "email", patient=other.personnummer, unit="410238", article=article.number, packages=2),
        expect_refusal=True)
    capture_as(262, agent, "Beställning per e-post utan personuppgifter", CaptureInput(
        "order", "email", unit="410238", article=article.number, packages=2))
    capture_as(270, hms, "Arbetsorder på papper", CaptureInput(
        "work_order", "paper", responsible_prescriber="prescriber", work_order_type="repair",
        note="Övning: rullstolens broms", reserve_number=printed[1] if len(printed) > 1 else None))
    tick(275, "stock_moves_first", hms, "Övning: lagerflytten registrerad först.")
    with log.step(at(280), "Förskrivaren förskriver lokalt under driftstörningen", prescriber.name) as entry:
        entry["result"] = _prescribe_locally(prescriber, other, area, article)
    with log.step(at(300), "Huvudservern svarar igen", "övervakningen") as entry:
        prober.main_up = True
        for seconds in (0, 20):
            services.run_probe_cycle(at(300) + timedelta(seconds=seconds), prober=prober)
        checklists.reconcile(at(301))
        entry["result"] = "Återställd"
    with log.step(at(305), "Efterregistrering till referensservern", "synkroniseringen") as entry:
        entry["result"], entry["ok"] = _back_register(port, path)
        checklists.reconcile(at(306))  # notes what the main server registered, then ticks
    with log.step(at(320), "IT bekräftar återgång till normal drift", it.name) as entry:
        services.deactivate_reserve(it.id, "Övning: huvudsystemet fungerar och allt är efterregistrerat.",
                                    now=at(320))
        checklists.reconcile(at(321))
        entry["result"] = "Reservrutinen avslutad, händelsen löst"
    return _report(log, incident_id, start, at(321))


def _seed_rows() -> None:
    try:
        from app.demo.withdrawals import seed_demo_withdrawals
    except ImportError:  # the withdrawals module is optional for the drill
        return
    seed_demo_withdrawals(patients=10)


def _article(area_code: str) -> tuple[ProductArea, Article]:
    area = db.session.scalar(select(ProductArea).where(ProductArea.code == area_code))
    article = db.session.scalar(select(Article).where(Article.product_area_id == area.id, Article.is_active.is_(True))
                                .order_by(Article.number).limit(1))
    return area, article


def _patients(count: int) -> list[Patient]:
    return list(db.session.scalars(select(Patient).order_by(Patient.id.desc()).limit(count)))


def _printed_numbers() -> list[str]:
    from reserve.models import ReserveNumber
    from reserve.rules import format_reserve_number

    return [format_reserve_number(n) for n in db.session.scalars(
        select(ReserveNumber.number).where(ReserveNumber.state == "printed").order_by(ReserveNumber.number))]


def _step(incident_id: int, key: str):  # noqa: ANN202
    for checklist in db.session.scalars(select(Checklist).where(Checklist.incident_id == incident_id,
                                                                Checklist.superseded_at.is_(None))):
        for step in checklist.steps:
            if step.key == key:
                return step
    raise DomainError(f"steget {key} finns inte i checklistan")


def _prescribe_locally(prescriber: User, patient: Patient, area: ProductArea, article: Article) -> str:
    from app.prescribing import services as prescribing
    from reserve.hooks import is_awaiting_registration

    units = prescribing.units_for(prescriber, area)
    made = prescribing.create_prescription(prescriber, prescribing.PrescriptionInput(
        patient.id, area.code, units[0].id, (prescribing.RowInput(article_id=article.id, withdrawals=4,
                                                                  packages_per_withdrawal=2),)))
    marked = "inväntar registrering" if is_awaiting_registration(made.id) else "inte markerad"
    return f"Förskrivning {made.number}, {marked}"


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
    from sync.outbox import traces_for

    steps = []
    for checklist in checklists_of(incident_id):
        for step in checklist.steps:
            after = _offset(start, step.done_at) if step.done_at else None
            steps.append({"checklist": checklist.title, "step": step.title,
                          "due": local_text(step.due_at) if step.due_at else None,
                          "done": local_text(step.done_at) if step.done_at else (
                              "Ej aktuell" if step.not_applicable else None),
                          "after": after, "by": step.actor, "late": bool(step.due_at and step.done_at
                                                                         and step.done_at > step.due_at)})
    items = list(db.session.scalars(select(ReserveItem).order_by(ReserveItem.priority, ReserveItem.captured_at)))
    traces = traces_for([i.outbox_key for i in items if i.outbox_key])
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
