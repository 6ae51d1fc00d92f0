"""What other packages may know of the status monitor: the current incident, the reserve state,
an incident's facts, and how fresh the local data is.

The one door into status's tables for sync/, reserve/ and the features: they read these small,
frozen views and never query Incident, Driftinfo or the probe tables themselves. Views, the API
and the public page inside status/ use its models directly.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from core.extensions import db
from core.formatting import local_text
from core.signals import first_value
from status import signals
from status.incidents import MAIN_SERVER
from status.models import Component, Driftinfo, Incident, IncidentUpdate, Notification, ProbeResult
from status.rules import ROLE_LABELS, escalation_plan
from status.settings import MonitorSettings
from status.scenarios import TRACK_CUSTOMER_SERVICE, TRACK_OUTAGE, Scenario

ACTIVE = "active"  # Incident.reserve_slot while the reserve routine applies (one incident at a time)


@dataclass(frozen=True)
class IncidentView:
    """An incident as other packages see it (same names as the model's columns)."""

    id: int
    scenario: str
    status: str
    track: str
    open_track: str | None
    started_at: datetime  # the outage's first failed probe
    detected_at: datetime
    recovered_at: datetime | None
    resolved_at: datetime | None
    reserve_due_at: datetime | None
    escalated_off_duty: bool
    prognosis_text: str | None
    prognosis_until: datetime | None
    reserve_activated_at: datetime | None
    reserve_activated_by: str | None  # 'system' or 'user'
    reserve_activated_by_id: int | None
    reserve_ended_at: datetime | None
    reserve_ended_by_id: int | None
    reserve_active: bool

    @property
    def title(self) -> str:
        return Scenario(self.scenario).guide.title


@dataclass(frozen=True)
class ReserveState:
    """The reserve routine as other packages see it: applies or not, since when, for which incident."""

    active: bool
    incident_id: int
    scenario: Scenario
    started_at: datetime  # the outage's first failed probe
    since: datetime | None  # when the reserve routine started to apply
    activated_by: str | None  # 'system' or 'user'
    reserve_due_at: datetime | None
    prognosis_text: str | None
    prognosis_until: datetime | None
    outage_ongoing: bool


@dataclass(frozen=True)
class Milestone:
    """When something happened during an incident, and who did it (None: the system)."""

    at: datetime
    user_id: int | None


def _view(row: Incident) -> IncidentView:
    return IncidentView(
        id=row.id, scenario=row.scenario, status=row.status, track=row.track, open_track=row.open_track,
        started_at=row.started_at, detected_at=row.detected_at, recovered_at=row.recovered_at,
        resolved_at=row.resolved_at, reserve_due_at=row.reserve_due_at, escalated_off_duty=row.escalated_off_duty,
        prognosis_text=row.prognosis_text, prognosis_until=row.prognosis_until,
        reserve_activated_at=row.reserve_activated_at, reserve_activated_by=row.reserve_activated_by,
        reserve_activated_by_id=row.reserve_activated_by_id, reserve_ended_at=row.reserve_ended_at,
        reserve_ended_by_id=row.reserve_ended_by_id, reserve_active=row.reserve_slot is not None)


# --- Which incident are we in ---------------------------------------------------------------

def _we_are_in(query: Select, *, any_track: bool) -> Select:
    """Narrow a query of incidents to the one we are in: the reserve routine's, else the newest open outage.

    The one form of "which incident are we in"; `any_track` also counts other open tracks.
    """
    opened = Incident.open_track.is_not(None) if any_track else Incident.open_track == TRACK_OUTAGE
    return (query.where(or_(Incident.reserve_slot.is_not(None), opened))
            .order_by(Incident.reserve_slot.is_(None), Incident.id.desc()).limit(1))


@lru_cache(maxsize=2)
def _current_incident_query(any_track: bool) -> Select:  # built once; SQLAlchemy's cache does the rest
    return _we_are_in(select(Incident.id), any_track=any_track)


def current_incident_id(*, any_track: bool = False, session: Session | None = None) -> int | None:
    """Return the incident we are in: the reserve routine's, else the newest open outage.

    `any_track` also counts a telephony disruption or lost contact with customer service (calls
    and hand capture belong to it). Reads without flushing what the caller has pending.
    """
    session = session or db.session()
    with session.no_autoflush:
        return session.scalar(_current_incident_query(any_track))


def incident(incident_id: int | None) -> IncidentView | None:
    """Return the incident, read afresh, or None."""
    if incident_id is None:
        return None
    row = db.session.get(Incident, incident_id, populate_existing=True)
    return _view(row) if row is not None else None


def current_incident(*, any_track: bool = False) -> IncidentView | None:
    return incident(current_incident_id(any_track=any_track))


def open_incidents() -> list[IncidentView]:
    """Return the incident whose reserve routine applies first, then every open incident, newest first."""
    rows = db.session.scalars(
        select(Incident).where(or_(Incident.reserve_slot.is_not(None), Incident.open_track.is_not(None)))
        .order_by(Incident.reserve_slot.is_(None), Incident.id.desc()))
    return [_view(row) for row in rows]


def latest_incident() -> IncidentView | None:
    """Return the newest open incident, else the newest of all."""
    return incident(db.session.scalar(select(Incident.id)
                                      .order_by(Incident.open_track.is_(None), Incident.id.desc()).limit(1)))


def recent_incidents(now: datetime, horizon: timedelta) -> list[IncidentView]:
    """Return the open incidents, the one whose reserve routine applies, and those resolved within the horizon."""
    rows = db.session.scalars(
        select(Incident).where(or_(Incident.open_track.is_not(None), Incident.reserve_slot.is_not(None),
                                   Incident.resolved_at >= now - horizon))
        .order_by(Incident.id).execution_options(populate_existing=True))
    return [_view(row) for row in rows]


def incidents(incident_ids: Iterable[int]) -> list[IncidentView]:
    """Return the incidents, newest first."""
    rows = db.session.scalars(select(Incident).where(Incident.id.in_(list(incident_ids)))
                              .order_by(Incident.started_at.desc()))
    return [_view(row) for row in rows]


def customer_service_contact_lost() -> IncidentView | None:
    """Return the open incident of lost contact with customer service (no heartbeat), if any."""
    row = db.session.scalar(select(Incident).where(Incident.open_track == TRACK_CUSTOMER_SERVICE))
    return _view(row) if row is not None else None


# --- The reserve routine ----------------------------------------------------------------------

def current_reserve_state() -> ReserveState | None:
    """Return the reserve routine's state, or None when it does not apply and no outage is open.

    One small indexed query; cheap enough for every page's banner.
    """
    row = db.session.execute(_we_are_in(
        select(Incident.id, Incident.scenario, Incident.reserve_slot, Incident.started_at,
               Incident.reserve_activated_at, Incident.reserve_activated_by, Incident.reserve_due_at,
               Incident.prognosis_text, Incident.prognosis_until, Incident.recovered_at, Incident.open_track),
        any_track=False)).first()
    if row is None:
        return None
    active = row.reserve_slot is not None
    return ReserveState(
        active=active, incident_id=row.id, scenario=Scenario(row.scenario), started_at=row.started_at,
        since=row.reserve_activated_at if active else None,
        activated_by=row.reserve_activated_by if active else None,
        reserve_due_at=row.reserve_due_at, prognosis_text=row.prognosis_text, prognosis_until=row.prognosis_until,
        outage_ongoing=row.open_track is not None and row.recovered_at is None,
    )


def banner_for(state: ReserveState | None) -> list[dict]:
    """Return the outage / reserve banner for a reserve state (the reserve package extends it)."""
    if state is None:
        return []
    if state.active:
        return [{"level": "danger", "title": "Reservrutin gäller.",
                 "text": f"Sedan {local_text(state.since)}. Akuta förskrivningar tas emot via Kundservice. "
                         "Se Driftstatus för prognos och information."}]
    if not state.outage_ongoing:
        return []
    return [{"level": "warning", "title": "Driftstörning.",
             "text": f"{state.scenario.guide.summary} Sedan {local_text(state.started_at)}. "
                     "Se Driftstatus för prognos och information."}]


# --- What happened during an incident (for checklists that tick themselves) -------------------

def _opening_escalation_role(dedup_key: str) -> str | None:
    """Return the role an incident's opening escalation notice went to, from its dedup key, else None."""
    parts = dedup_key.split(":")  # esc:<incident>:<event>:<role>:<recipient or webhook>
    return parts[3] if len(parts) >= 4 and parts[0] == "esc" and parts[2] == "opened" else None


@dataclass(frozen=True)
class EscalationState:
    """How far the opening notice to one role of an incident's escalation got (IT staff's desk)."""

    role: str
    label: str
    configured: bool  # an address (or, for Servicedesk, a webhook) is set for the role now
    sent_at: datetime | None = None  # first handed to the mail outbox or answered by the webhook
    pending: bool = False
    failed: bool = False


def opening_escalation(incident: Incident, settings: MonitorSettings) -> list[EscalationState]:
    """Return, for each role the incident's escalation plan names, whether its opening notice went out.

    A role with no address queues nothing: the desk must say so, not claim the role was contacted.
    """
    plan = escalation_plan(Scenario(incident.scenario), on_duty=not incident.escalated_off_duty)
    rows = db.session.execute(
        select(Notification.dedup_key, Notification.sent_at, Notification.failed_at)
        .where(Notification.incident_id == incident.id,
               Notification.dedup_key.startswith(f"esc:{incident.id}:opened:", autoescape=True)))
    sent: dict[str, datetime] = {}
    pending: set[str] = set()
    failed: set[str] = set()
    for key, sent_at, failed_at in rows:
        role = _opening_escalation_role(key)
        if role is None:
            continue
        if sent_at is not None:
            sent[role] = min(sent_at, sent.get(role, sent_at))
        elif failed_at is not None:
            failed.add(role)
        else:
            pending.add(role)
    return [EscalationState(
        role, ROLE_LABELS[role],
        configured=settings.reaches(role),
        sent_at=sent.get(role), pending=role in pending, failed=role in failed)
        for role in plan]


def first_escalations(incident_ids: list[int]) -> dict[tuple[int, str], datetime]:
    """Return (incident, escalation role) → when the monitor first got the opening notice out."""
    rows = db.session.execute(
        select(Notification.incident_id, Notification.dedup_key, Notification.sent_at)
        .where(Notification.incident_id.in_(incident_ids), Notification.sent_at.is_not(None),
               Notification.purpose.in_(("escalation", "servicedesk"))))
    sent: dict[tuple[int, str], datetime] = {}
    for incident_id, key, at in rows:
        role = _opening_escalation_role(key)
        if role is not None:
            slot = (incident_id, role)
            sent[slot] = min(at, sent.get(slot, at))
    return sent


def first_updates(incident_ids: list[int]) -> dict[tuple[int, str], Milestone]:
    """Return (incident, kind) → the first published prognosis and reserve notice."""
    rows = db.session.execute(
        select(IncidentUpdate.incident_id, IncidentUpdate.kind, IncidentUpdate.at, IncidentUpdate.author_id)
        .where(IncidentUpdate.incident_id.in_(incident_ids), IncidentUpdate.kind.in_(("prognosis", "reserve")))
        .order_by(IncidentUpdate.id))
    first: dict[tuple[int, str], Milestone] = {}
    for incident_id, kind, at, author_id in rows:
        first.setdefault((incident_id, kind), Milestone(at, author_id))
    return first


def first_driftinfo(incident: IncidentView) -> Milestone | None:
    """Return the first driftinfo post about the incident, or published while it was ongoing."""
    until = incident.resolved_at or datetime.max
    row = db.session.execute(
        select(Driftinfo.at, Driftinfo.author_id)
        .where(or_(Driftinfo.incident_id == incident.id,
                   (Driftinfo.at >= incident.started_at) & (Driftinfo.at <= until)))
        .order_by(Driftinfo.at, Driftinfo.id).limit(1)).first()
    return Milestone(row.at, row.author_id) if row else None


# --- How fresh the local data is --------------------------------------------------------------

def last_main_server_answer() -> datetime | None:
    """Return the last time a probe of the main server succeeded."""
    component_id = select(Component.id).where(Component.key == MAIN_SERVER).scalar_subquery()
    return db.session.scalar(select(ProbeResult.at).where(ProbeResult.component_id == component_id,
                                                          ProbeResult.ok.is_(True))
                             .order_by(ProbeResult.at.desc()).limit(1))


def data_as_of() -> datetime | None:
    """Return the time of the last successful sync with the main server, as far as anyone knows.

    The sync engine answers with its last complete pull (status.signals.data_as_of); without an
    answer, the last moment the monitor saw the main server answer, since the local store was in
    step with it until then.
    """
    answer = first_value(signals.data_as_of, current_app._get_current_object())  # noqa: SLF001
    return answer if answer is not None else last_main_server_answer()
