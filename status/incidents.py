"""The life of an incident: open, timeline, reclassify, recover, resolve. Callers commit."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.clock import to_local
from core.extensions import db
from status import cache, messages, notifications
from status.models import Component, Incident, IncidentUpdate, MaintenanceWindow, RecoveryEvent
from status.rules import is_on_duty, reserve_due_at
from status.scenarios import INVESTIGATING, MONITORING, RESOLVED, TRACK_OUTAGE, Scenario
from status.settings import MonitorSettings

MAIN_SERVER = "main_server"
REFERENCE_TARGET = "reference_target"
CUSTOMER_SERVICE = "customer_service"
TELEPHONY = "telephony"


def component(key: str) -> Component:
    """Return the component, freshly read (its row is also changed with core UPDATEs)."""
    return db.session.execute(select(Component).where(Component.key == key)
                              .execution_options(populate_existing=True)).scalar_one()


def open_incident_of(track: str, *, for_update: bool = False) -> Incident | None:
    """Return the open incident of a track (at most one exists), locked when asked."""
    query = select(Incident).where(Incident.open_track == track)
    if for_update:
        query = query.with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


def maintenance_pauses(component_key: str) -> list[tuple[datetime, datetime]]:
    query = (select(MaintenanceWindow.starts_at, MaintenanceWindow.ends_at)
             .join(Component, Component.id == MaintenanceWindow.component_id)
             .where(Component.key == component_key))
    return [(row.starts_at, row.ends_at) for row in db.session.execute(query)]


def in_maintenance(component_key: str, now: datetime) -> bool:
    return any(start <= now < end for start, end in maintenance_pauses(component_key))


def open_incident(scenario: Scenario, started_at: datetime, now: datetime, settings: MonitorSettings, *,
                  message: str | None = None, author_id: int | None = None) -> Incident | None:
    """Open an incident for the scenario, record its first entry and queue its escalation.

    Returns None when its track already has an open incident (another writer was first).
    """
    incident = Incident(track=scenario.track, open_track=scenario.track, scenario=scenario.value,
                        status=INVESTIGATING, started_at=started_at, detected_at=now,
                        escalated_off_duty=not is_on_duty(to_local(now), settings.duty))
    if scenario.track == TRACK_OUTAGE:
        incident.reserve_due_at = reserve_due_at(started_at, maintenance_pauses(MAIN_SERVER))
    try:
        with db.session.begin_nested():
            db.session.add(incident)
    except IntegrityError:  # the unique open_track: this track already has an open incident
        return None
    append_update(incident, "opened", message or messages.opened_text(scenario, started_at), now,
                  author_id=author_id)
    notifications.queue_escalation(incident, "opened", now, settings)
    return incident


def append_update(incident: Incident, kind: str, message: str, now: datetime, *, status: str | None = None,
                  author_id: int | None = None) -> IncidentUpdate:
    """Append a timeline entry (optionally changing the status) and queue it to subscribers."""
    if status is not None:
        incident.status = status
    entry = IncidentUpdate(incident=incident, at=now, kind=kind, status=incident.status, message=message,
                           author_id=author_id)
    db.session.add(entry)
    db.session.flush()
    notifications.queue_subscriber_update(incident, entry, now)
    cache.invalidate()
    return entry


def reclassify(incident: Incident, scenario: Scenario, now: datetime, settings: MonitorSettings) -> None:
    """Record that the situation is now another scenario of the same track; escalate if it calls for it."""
    incident.scenario = scenario.value
    append_update(incident, "scenario", messages.reclassified_text(scenario), now)
    notifications.queue_escalation(incident, "opened", now, settings)


def mark_recovered(incident: Incident, now: datetime, settings: MonitorSettings) -> None:
    """The main server answers again: record it for the sync engine; resolve unless reserve mode holds."""
    incident.recovered_at = now
    db.session.add(RecoveryEvent(incident_id=incident.id, occurred_at=now))
    if incident.reserve_active:
        append_update(incident, "recovered", "Huvudservern svarar igen. Reservrutinen gäller tills IT bekräftar "
                      "återgång till normal drift.", now, status=MONITORING)
    else:
        resolve(incident, "Huvudservern svarar igen. Driftstörningen är över.", now, settings)


def relapse(incident: Incident, now: datetime) -> None:
    """The main server fell again while the incident was held open for the reserve routine."""
    incident.recovered_at = None
    append_update(incident, "relapsed", "Huvudservern är åter otillgänglig.", now, status=INVESTIGATING)


def resolve(incident: Incident, message: str, now: datetime, settings: MonitorSettings, *,
            author_id: int | None = None) -> IncidentUpdate:
    """Close the incident with a last timeline entry; tell those who were escalated to."""
    incident.open_track = None
    incident.resolved_at = now
    entry = append_update(incident, "resolved", message, now, status=RESOLVED, author_id=author_id)
    notifications.queue_escalation(incident, "resolved", now, settings)
    return entry


def refresh_reserve_due(now: datetime) -> None:
    """Recompute the open outage's four-hour deadline after maintenance windows changed."""
    incident = open_incident_of(TRACK_OUTAGE, for_update=True)
    if incident is not None and incident.reserve_activated_at is None:
        incident.reserve_due_at = reserve_due_at(incident.started_at, maintenance_pauses(MAIN_SERVER))
