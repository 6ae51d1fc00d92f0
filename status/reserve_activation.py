"""The reserve routine's switch: automatic after four hours without prognosis, or by IT staff.

Every activation and deactivation is one conditional UPDATE that must touch exactly one
row; a restarted or duplicated monitor that asks again touches none. The incident row
records who or what (system / user), when and why.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from core.errors import DomainError
from core.extensions import db
from core.store import begin_write
from status import incidents, messages, notifications
from status.incidents import MAIN_SERVER
from status.models import Component, Incident, MaintenanceWindow
from status.scenarios import TRACK_OUTAGE, Scenario
from status.settings import MonitorSettings

ACTIVE = "active"


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


def current_reserve_state() -> ReserveState | None:
    """Return the reserve routine's state, or None when it does not apply and no outage is open.

    One small indexed query; cheap enough for every page's banner.
    """
    row = db.session.execute(
        select(Incident.id, Incident.scenario, Incident.reserve_slot, Incident.started_at,
               Incident.reserve_activated_at, Incident.reserve_activated_by, Incident.reserve_due_at,
               Incident.prognosis_text, Incident.prognosis_until, Incident.recovered_at, Incident.open_track)
        .where(or_(Incident.reserve_slot == ACTIVE, Incident.open_track == TRACK_OUTAGE))
        .order_by(Incident.reserve_slot.is_(None), Incident.id.desc())
        .limit(1)
    ).first()
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


def _no_other_active():  # noqa: ANN202
    other = aliased(Incident)
    return ~exists().where(other.reserve_slot == ACTIVE)


def _main_not_in_maintenance(now: datetime):  # noqa: ANN202
    return ~exists().where(
        MaintenanceWindow.component_id == select(Component.id).where(Component.key == MAIN_SERVER).scalar_subquery(),
        MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now,
    )


def automatic_conditions(now: datetime) -> list:
    """The four-hour rule as SQL: it mirrors rules.automatic_reserve_due."""
    return [
        Incident.open_track == TRACK_OUTAGE,
        Incident.recovered_at.is_(None),
        Incident.scenario == Scenario.MAIN_SERVER_OUTAGE.value,
        Incident.reserve_activated_at.is_(None),
        Incident.reserve_due_at <= now,
        or_(Incident.prognosis_until.is_(None), Incident.prognosis_until <= now),
        _main_not_in_maintenance(now),
    ]


def activate_due(now: datetime, settings: MonitorSettings) -> list[int]:
    """Activate the reserve routine where the four-hour rule says so; return the incidents activated."""
    activated = []
    begin_write()
    for incident_id in list(db.session.scalars(select(Incident.id).where(and_(*automatic_conditions(now))))):
        result = db.session.execute(
            update(Incident)
            .where(Incident.id == incident_id, *automatic_conditions(now), _no_other_active())
            .values(reserve_slot=ACTIVE, reserve_activated_at=now, reserve_activated_by="system",
                    reserve_activated_by_id=None, reserve_activation_reason=messages.AUTOMATIC_RESERVE_REASON)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue  # someone else activated it, or a prognosis arrived in between
        incident = db.session.get(Incident, incident_id, populate_existing=True)
        incidents.append_update(incident, "reserve", messages.automatic_reserve_text(now), now)
        notifications.queue_escalation(incident, "reserve_activated", now, settings)
        activated.append(incident_id)
    db.session.commit()
    return activated


def activate_by_staff(incident_id: int, user_id: int, reason: str, now: datetime,
                      settings: MonitorSettings) -> Incident:
    """Activate the reserve routine for an open incident on IT staff's decision."""
    result = db.session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.open_track.is_not(None), Incident.reserve_slot.is_(None),
               _no_other_active())
        .values(reserve_slot=ACTIVE, reserve_activated_at=now, reserve_activated_by="user",
                reserve_activated_by_id=user_id, reserve_activation_reason=reason,
                reserve_ended_at=None, reserve_ended_by_id=None, reserve_end_reason=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError("Reservrutinen gäller redan, eller händelsen är inte öppen.", field="incident_id")
    incident = db.session.get(Incident, incident_id, populate_existing=True)
    incidents.append_update(incident, "reserve", f"Reservrutin gäller från nu, beslutat av IT: {reason}", now,
                            author_id=user_id)
    notifications.queue_escalation(incident, "reserve_activated", now, settings)
    db.session.commit()
    return incident


def deactivate_by_staff(user_id: int, reason: str, now: datetime, settings: MonitorSettings) -> Incident:
    """End the reserve routine on IT staff's confirmation; resolve the incident if the server is back."""
    incident_id = db.session.scalar(select(Incident.id).where(Incident.reserve_slot == ACTIVE))
    result = db.session.execute(
        update(Incident).where(Incident.id == incident_id, Incident.reserve_slot == ACTIVE)
        .values(reserve_slot=None, reserve_ended_at=now, reserve_ended_by_id=user_id, reserve_end_reason=reason)
        .execution_options(synchronize_session=False)
    ) if incident_id is not None else None
    if result is None or result.rowcount != 1:
        db.session.rollback()
        raise DomainError("Reservrutinen gäller inte.")
    incident = db.session.get(Incident, incident_id, populate_existing=True)
    incidents.append_update(incident, "reserve", f"Reservrutinen har upphört, bekräftat av IT: {reason}", now,
                            author_id=user_id)
    notifications.queue_escalation(incident, "reserve_ended", now, settings)
    if incident.recovered_at is not None and incident.open_track is not None:
        incidents.resolve(incident, "Återgång till normal drift är bekräftad. Driftstörningen är över.", now,
                          settings, author_id=user_id)
    db.session.commit()
    return incident
