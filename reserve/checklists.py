"""Incident checklists: each incident instantiates its scenario's runbook (and, once the reserve
routine applies, seed 004's routine); the system ticks what it has seen happen.

`reconcile` reads what the status monitor recorded (incidents, timeline, notifications sent,
driftinfo) and brings the checklists up to date. It is idempotent: the monitor runs it as a
job, and the checklist pages run it before they read, so a restart or a second process never
ticks a step twice. State lives in the tables; the unique (incident, runbook) key guards
against two writers instantiating the same checklist.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.auth.roles import Role
from core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from core.store import begin_write
from reserve.models import Checklist, ChecklistStep, ReserveItem
from reserve.rules import CAPTURED, due_at, step_state
from reserve.runbooks import RESERVE_ACTIVATED, RESERVE_ROUTINE, RUNBOOK_ROLES, Runbook
from status import readmodel
from status.readmodel import IncidentView, Milestone
from status.rules import prognosis_valid

RECENT = timedelta(days=1)  # resolved incidents keep being reconciled this long
MAX_NOTE = 2000


Fact = Milestone  # something the system saw happen: when, and who did it (None: the system itself)


def runbooks() -> dict[str, Runbook]:
    """Return the runbooks loaded (and validated) when the app started, by scenario."""
    return current_app.extensions["reserve.runbooks"]


def _items_registered(incident: IncidentView) -> Fact | None:
    """Return when everything captured during the incident was registered on the main server."""
    back = incident.recovered_at or incident.resolved_at
    if back is None:
        return None
    pending, last = db.session.execute(
        select(func.count().filter(ReserveItem.registered_at.is_(None)), func.max(ReserveItem.registered_at))
        .where(ReserveItem.incident_id == incident.id, ReserveItem.status == CAPTURED)).one()
    if pending:
        return None
    return Fact(max(last or back, back), None)


def facts_for(incident: IncidentView, escalations: dict, updates: dict) -> dict[str, Fact]:
    """Return the automatic events that have happened for the incident, by event name."""
    facts: dict[str, Fact] = {}
    for (incident_id, role), at in escalations.items():
        if incident_id == incident.id:
            facts[f"escalation:{role}"] = Fact(at, None)
    if (prognosis := updates.get((incident.id, "prognosis"))) is not None:
        facts["prognosis_published"] = prognosis
    if incident.reserve_activated_at is not None:
        by = None if incident.reserve_activated_by == "system" else incident.reserve_activated_by_id
        facts["reserve_activated"] = Fact(incident.reserve_activated_at, by)
    if (published := updates.get((incident.id, "reserve"))) is not None:
        facts["reserve_published"] = published
    if incident.recovered_at is not None:
        facts["main_server_recovered"] = Fact(incident.recovered_at, None)
    if incident.reserve_ended_at is not None:
        facts["reserve_ended"] = Fact(incident.reserve_ended_at, incident.reserve_ended_by_id)
    if (driftinfo := readmodel.first_driftinfo(incident)) is not None:
        facts["driftinfo_published"] = driftinfo
    if (registered := _items_registered(incident)) is not None:
        facts["items_registered"] = registered
    return facts


def _wanted(incident: IncidentView) -> list[tuple[Runbook, datetime]]:
    """Return the runbooks the incident should have a checklist of, each with its deadline base."""
    books = runbooks()
    wanted = [(books[incident.scenario], incident.started_at)]
    if incident.reserve_activated_at is not None:
        routine = books[RESERVE_ROUTINE]
        base = incident.reserve_activated_at if routine.relative_to == RESERVE_ACTIVATED else incident.started_at
        wanted.append((routine, base))
    return wanted


def _instantiate(incident: IncidentView, runbook: Runbook, base_at: datetime, now: datetime) -> Checklist | None:
    """Create the checklist of a runbook for the incident; None if another writer was first."""
    checklist = Checklist(incident_id=incident.id, runbook_key=runbook.key, runbook_digest=runbook.digest,
                          title=runbook.title, base_at=base_at, created_at=now)
    for position, step in enumerate(runbook.steps):
        applies = step.applies_when is None or (step.applies_when == "off_duty") == incident.escalated_off_duty
        checklist.steps.append(ChecklistStep(
            position=position, key=step.key, title=step.title, description=step.description, role=step.role,
            deadline_minutes=None if step.deadline is None else int(step.deadline.total_seconds() // 60),
            due_at=due_at(base_at, step.deadline), record=step.record, automatic=step.automatic,
            note_required=step.note_required, not_applicable=not applies))
    try:
        with db.session.begin_nested():
            db.session.add(checklist)
    except IntegrityError:
        return None
    return checklist


def _supersede(older: Checklist, newer: Checklist, now: datetime) -> None:
    """The incident became another scenario: the new checklist keeps the ticks of steps both share."""
    older.superseded_at = now
    done = {s.key: s for s in older.steps if s.done_at is not None}
    for step in newer.steps:
        if step.key in done and step.done_at is None:
            source = done[step.key]
            step.done_at, step.done_by_id = source.done_at, source.done_by_id
            step.done_by_system, step.note = source.done_by_system, source.note


def _tick_automatic(checklist: Checklist, facts: dict[str, Fact]) -> int:
    ticked = 0
    for step in checklist.steps:
        fact = facts.get(step.automatic or "")
        if fact is None or step.done_at is not None or step.not_applicable:
            continue
        step.done_at, step.done_by_id, step.done_by_system = fact.at, fact.user_id, fact.user_id is None
        ticked += 1
    return ticked


def _pass(now: datetime, write: bool) -> int:
    """Compare the checklists with what happened; apply the changes when `write`. Return how many."""
    incidents = readmodel.recent_incidents(now, RECENT)
    if not incidents:
        return 0
    ids = [i.id for i in incidents]
    existing: dict[int, list[Checklist]] = {}
    for checklist in db.session.scalars(select(Checklist).where(Checklist.incident_id.in_(ids))
                                        .options(selectinload(Checklist.steps))
                                        .execution_options(populate_existing=True)):
        existing.setdefault(checklist.incident_id, []).append(checklist)
    escalations, updates = readmodel.first_escalations(ids), readmodel.first_updates(ids)
    changes = 0
    for incident in incidents:
        mine = existing.get(incident.id, [])
        for runbook, base_at in _wanted(incident):
            current = next((c for c in mine if c.runbook_key == runbook.key), None)
            others = [c for c in mine
                      if c.superseded_at is None and c.runbook_key not in (runbook.key, RESERVE_ROUTINE)]
            if current is not None and current.superseded_at is None and not (
                    runbook.applies_to != RESERVE_ROUTINE and others):
                continue
            changes += 1
            if not write:
                continue
            if current is None:
                current = _instantiate(incident, runbook, base_at, now)
                if current is None:
                    continue
                mine.append(current)
            current.superseded_at = None  # the incident may return to an earlier scenario
            if runbook.applies_to != RESERVE_ROUTINE:
                for older in others:
                    _supersede(older, current, now)
        facts = facts_for(incident, escalations, updates)
        for checklist in mine:
            if checklist.superseded_at is None:
                pending = [s for s in checklist.steps if s.done_at is None and not s.not_applicable
                           and (s.automatic or "") in facts]
                changes += len(pending)
                if write:
                    _tick_automatic(checklist, facts)
    return changes


def reconcile(now: datetime) -> int:
    """Instantiate missing checklists and tick the automatic steps; return how many changes were made."""
    from reserve import registrations

    registrations.refresh(now)  # first, so "everything is back-registered" can tick
    needed = _pass(now, write=False)
    db.session.commit()  # end the read; most calls stop here
    if not needed:
        return 0
    begin_write()
    changes = _pass(now, write=True)
    db.session.commit()
    return changes


# --- Reading and ticking ---------------------------------------------------------------------

def checklists_of(incident_id: int) -> list[Checklist]:
    return list(db.session.scalars(
        select(Checklist).where(Checklist.incident_id == incident_id)
        .options(selectinload(Checklist.steps).selectinload(ChecklistStep.done_by))
        .order_by(Checklist.superseded_at.is_not(None), Checklist.id)))


def get_checklist(checklist_id: int) -> Checklist:
    checklist = db.session.get(Checklist, checklist_id, options=[selectinload(Checklist.steps)])
    if checklist is None:
        raise NotFound("Checklistan finns inte.")
    return checklist


def may_tick(user: User, role: str) -> bool:
    """Return whether the user may tick a step of the runbook role (the business owner any)."""
    return Role.ADMIN in user.roles or bool(RUNBOOK_ROLES[role][1] & user.roles)


def step_view_state(step: ChecklistStep, incident: IncidentView, now: datetime) -> str:
    """Return the step's state; the activation step waits while a valid prognosis holds."""
    waits = step.automatic == "reserve_activated" and prognosis_valid(incident.prognosis_until, now)
    return step_state(done_at=step.done_at, not_applicable=step.not_applicable, due_at=step.due_at, now=now,
                      waits_for_prognosis=waits)


def tick_step(actor: User, step_id: int, note: str | None, now: datetime) -> ChecklistStep:
    """Record that the actor did a step, when, with a note (required where the runbook says so)."""
    note = (note or "").strip() or None
    begin_write()
    step = db.session.get(ChecklistStep, step_id, with_for_update=True, populate_existing=True)
    if step is None:
        raise NotFound("Steget finns inte.", field="step")
    if not may_tick(actor, step.role):
        raise Forbidden(f"Steget utförs av {RUNBOOK_ROLES[step.role][0]}.", field="step")
    if note is not None and len(note) > MAX_NOTE:
        raise ValidationFailed.single("note", f"Högst {MAX_NOTE} tecken.")
    if step.note_required and note is None:
        raise ValidationFailed.single("note", f"Anteckna det som ska registreras: {step.record}")
    if step.done_at is not None:
        raise DomainError("Steget är redan klart.", field="step")
    if step.checklist.superseded_at is not None:
        raise DomainError("Checklistan har ersatts av en nyare för samma händelse.", field="step")
    step.done_at, step.done_by_id, step.done_by_system, step.note = now, actor.id, False, note
    db.session.commit()
    return step


def open_checklist_summaries(now: datetime) -> list[dict]:
    """Return, for the reserve page, each current checklist with its counts of open and overdue steps."""
    incidents = {i.id: i for i in readmodel.recent_incidents(now, RECENT)}
    rows = db.session.scalars(
        select(Checklist).where(Checklist.superseded_at.is_(None), Checklist.incident_id.in_(list(incidents)))
        .options(selectinload(Checklist.steps)).order_by(Checklist.incident_id.desc(), Checklist.id))
    summaries = []
    for checklist in rows:
        incident = incidents.get(checklist.incident_id)
        if incident is None:
            continue
        states = [step_view_state(s, incident, now) for s in checklist.steps]
        summaries.append({"checklist": checklist, "incident": incident, "total": len(states),
                          "done": sum(s in ("done", "not_applicable") for s in states),
                          "overdue": states.count("overdue")})
    return summaries


def overdue_steps(checklists: Iterable[Checklist], incident: IncidentView, now: datetime) -> list[ChecklistStep]:
    return [s for c in checklists if c.superseded_at is None for s in c.steps
            if step_view_state(s, incident, now) == "overdue"]
