"""Activating and ending the reserve routine: automatically after four hours without prognosis
(status.rules.reserve_countdown, here as SQL), or by IT staff.

Every activation and deactivation is one conditional UPDATE that must touch exactly one
row; a restarted or duplicated monitor that asks again touches none. The incident row
records who or what (system / user), when and why.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from core.errors import DomainError
from core.extensions import db
from core.store import begin_write
from status import driftinfo, incidents, messages, notifications
from status.incidents import MAIN_SERVER
from status.models import Component, Incident, MaintenanceWindow
from status.readmodel import ACTIVE
from status.scenarios import TRACK_OUTAGE, Scenario
from status.settings import MonitorSettings

def _no_other_active():  # noqa: ANN202
    other = aliased(Incident)
    return ~exists().where(other.reserve_slot == ACTIVE)


def _main_not_in_maintenance(now: datetime):  # noqa: ANN202
    return ~exists().where(
        MaintenanceWindow.component_id == select(Component.id).where(Component.key == MAIN_SERVER).scalar_subquery(),
        MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now,
    )


def automatic_conditions(now: datetime) -> list:
    """The four-hour rule as SQL, for the conditional UPDATE that claims the activation.

    It says what status.rules.automatic_reserve_due says; tests/service/status/test_four_hour_rule_sql.py
    proves the two equal on generated incidents.
    """
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


def deactivate_by_staff(user_id: int, reason: str, now: datetime, settings: MonitorSettings, *,
                        close_driftinfo: Iterable[int] = ()) -> Incident:
    """End the reserve routine on IT staff's confirmation; resolve the incident if the server is back.

    The notices IT chose to close (`close_driftinfo`) are withdrawn in the same transaction.
    """
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
    driftinfo.close(close_driftinfo, user_id, f"Reservrutinen har upphört: {reason}", now)  # before resolving
    if incident.recovered_at is not None and incident.open_track is not None:
        incidents.resolve(incident, "Återgång till normal drift är bekräftad. Driftstörningen är över.", now,
                          settings, author_id=user_id)
    db.session.commit()
    return incident
