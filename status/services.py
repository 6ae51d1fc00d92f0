"""Status use cases, one function each: what views, the API, jobs and other packages call.

Each function commits its own change; notifications it causes are queued in the same
transaction and delivered after the commit by the monitor's notify job.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update

from core.api.validation import SINGLE_LINE_MAX, control_character_message
from core.clock import utcnow
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.privacy.screening import personal_data_error
from core.store import begin_write
from status import cache, driftinfo, incidents, monitor, notifications, readmodel, reserve_activation
from status.incidents import CUSTOMER_SERVICE, TELEPHONY
from status.models import (
    Component, Driftinfo, Incident, IncidentUpdate, MaintenanceWindow, Outage, RecoveryEvent,
)
from status.readmodel import ReserveState
from status.scenarios import (
    INCIDENT_STATUSES, RESOLVED, TRACK_CUSTOMER_SERVICE, TRACK_OUTAGE, TRACK_TELEPHONY, Scenario,
)
from status.settings import current_settings
from core.formatting import local_text

__all__ = [
    "ReserveState", "activate_reserve", "add_incident_update", "claim_recovery_event", "current_reserve_state",
    "deactivate_reserve", "deliver_notifications", "publish_driftinfo", "record_heartbeat", "run_probe_cycle",
    "run_reserve_check", "schedule_maintenance", "set_prognosis", "set_telephony", "withdraw_driftinfo",
]

CLOSED_WITH_INCIDENT = "Händelsen är löst."


PUBLIC_WHY = "Statussidan är publik och mejlas till prenumeranter; den får inte innehålla personuppgifter."


def _public_text(field: str, text: str, max_length: int) -> str:
    """Return the stripped text for the public page, refusing empty, over-long, control characters or personal data."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.single(field, "Fältet får inte vara tomt.")
    if len(text) > max_length:
        raise ValidationFailed.single(field, f"Högst {max_length} tecken.")
    control = control_character_message(text, multiline=max_length > SINGLE_LINE_MAX)
    if control:  # whatever the door, the Atom feed and subscribers' mail must stay well-formed
        raise ValidationFailed.single(field, control)
    error = personal_data_error(field, text, PUBLIC_WHY)
    if error is not None:
        raise ValidationFailed([error])
    return text


def _incident(incident_id: int) -> Incident:
    incident = db.session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
    if incident is None:
        raise NotFound("Händelsen finns inte.", field="incident_id")
    return incident


def _open_incident_id() -> int | None:
    """Return the open incident, the outage before the others."""
    return db.session.scalar(select(Incident.id).where(Incident.open_track.is_not(None))
                             .order_by(Incident.track != TRACK_OUTAGE, Incident.id).limit(1))


def current_reserve_state() -> ReserveState | None:
    """Return whether the reserve routine applies (and for which outage), or None if no outage is open."""
    return readmodel.current_reserve_state()


def record_heartbeat(now: datetime | None = None) -> datetime:
    """Record that a customer-service workstation reached us; return the time recorded."""
    now = now or utcnow()
    begin_write()
    db.session.execute(update(Component).where(Component.key == CUSTOMER_SERVICE)
                       .values(last_heartbeat_at=now, monitored_since=func.coalesce(Component.monitored_since, now))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return now


def publish_driftinfo(author_id: int, title: str, body: str, incident_id: int | None = None,
                      now: datetime | None = None, valid_until: datetime | None = None) -> Driftinfo:
    """Publish an operational notice on the status page and to subscribers, until `valid_until` if given."""
    now = now or utcnow()
    title, body = _public_text("title", title, 200), _public_text("body", body, 5000)
    if valid_until is not None and valid_until <= now:
        raise ValidationFailed.single("valid_until", "Giltig till måste ligga i framtiden.")
    begin_write()
    if incident_id is not None:
        _incident(incident_id)
    else:  # a notice published during a disturbance is about it, and ends with it
        incident_id = _open_incident_id()
    post = Driftinfo(at=now, title=title, body=body, incident_id=incident_id, author_id=author_id,
                     valid_until=valid_until)
    db.session.add(post)
    db.session.flush()
    notifications.queue_subscriber_driftinfo(post, now)
    db.session.commit()
    cache.invalidate()
    return post


def withdraw_driftinfo(post_id: int, author_id: int, reason: str, now: datetime | None = None) -> Driftinfo:
    """Withdraw a current notice: it leaves the status page and stays in the archive with the reason."""
    now = now or utcnow()
    reason = _public_text("reason", reason, 1000)
    begin_write()
    post = db.session.get(Driftinfo, post_id, with_for_update=True, populate_existing=True)
    if post is None:
        raise NotFound("Driftinfon finns inte.", field="driftinfo_id")
    if driftinfo.close([post.id], author_id, reason, now) != 1:
        db.session.rollback()
        raise ValidationFailed.single("driftinfo_id", "Driftinfon har redan upphört.", status=409)
    db.session.commit()
    cache.invalidate()
    return db.session.get(Driftinfo, post_id, populate_existing=True)


def set_prognosis(incident_id: int, author_id: int, text: str, expected_restoration_at: datetime,
                  now: datetime | None = None) -> Incident:
    """Record IT staff's restoration prognosis; while it holds, the reserve routine waits."""
    now = now or utcnow()
    text = _public_text("text", text, 2000)
    if expected_restoration_at <= now:
        raise ValidationFailed.single("expected_restoration_at", "Beräknad åtgärdstid måste ligga i framtiden.")
    begin_write()
    incident = _incident(incident_id)
    if incident.open_track is None:
        raise ValidationFailed.single("incident_id", "Händelsen är redan löst.", status=409)
    incident.prognosis_text, incident.prognosis_until = text, expected_restoration_at
    incident.prognosis_at, incident.prognosis_by_id = now, author_id
    incidents.append_update(incident, "prognosis",
                            f"Prognos: {text} Beräknat åtgärdat {local_text(expected_restoration_at)}.",
                            now, author_id=author_id)
    db.session.commit()
    cache.invalidate()
    return incident


def add_incident_update(incident_id: int, author_id: int, status: str, message: str,
                        now: datetime | None = None, close_driftinfo: Iterable[int] = ()) -> IncidentUpdate:
    """Append IT staff's update to an incident's timeline, possibly changing its status.

    Resolving it also withdraws the notices IT chose to close (`close_driftinfo`).
    """
    now = now or utcnow()
    if status not in INCIDENT_STATUSES:
        raise ValidationFailed.single("status", f"Okänd status; välj en av {', '.join(INCIDENT_STATUSES)}.")
    message = _public_text("message", message, 5000)
    begin_write()
    incident = _incident(incident_id)
    if incident.open_track is None:
        raise ValidationFailed.single("incident_id", "Händelsen är redan löst.", status=409)
    if status == RESOLVED:
        _check_resolvable(incident)
        if incident.track == TRACK_TELEPHONY:
            _set_telephony_component(False, now)
        driftinfo.close(close_driftinfo, author_id, CLOSED_WITH_INCIDENT, now)  # while they are still current
        entry = incidents.resolve(incident, message, now, current_settings(), author_id=author_id)
    else:
        entry = incidents.append_update(incident, "status", message, now, status=status, author_id=author_id)
    db.session.commit()
    cache.invalidate()
    return entry


def _check_resolvable(incident: Incident) -> None:
    """Refuse to close by hand what the monitor would open again at its next look."""
    if incident.reserve_active:
        raise ValidationFailed.single("status", "Avsluta reservrutinen innan händelsen markeras som löst.", status=409)
    if incident.track == TRACK_OUTAGE and incident.recovered_at is None:
        raise ValidationFailed.single("status", "Huvudservern svarar fortfarande inte; händelsen löses när "
                                                "övervakningen ser att den svarar igen.", status=409)
    if incident.track == TRACK_CUSTOMER_SERVICE and incidents.component(CUSTOMER_SERVICE).state == "down":
        raise ValidationFailed.single("status", "Kundservice skickar fortfarande inga livstecken; händelsen löses "
                                                "när de kommer tillbaka.", status=409)


def activate_reserve(author_id: int, reason: str, incident_id: int | None = None,
                     now: datetime | None = None) -> Incident:
    """Activate the reserve routine on IT staff's decision, for the given or the open outage incident."""
    now = now or utcnow()
    reason = _public_text("reason", reason, 1000)
    begin_write()
    if incident_id is None:
        incident_id = _open_incident_id()
        if incident_id is None:
            raise ValidationFailed.single("incident_id", "Det finns ingen öppen händelse att aktivera "
                                                         "reservrutinen för.", status=409)
    incident = reserve_activation.activate_by_staff(incident_id, author_id, reason, now, current_settings())
    cache.invalidate()
    return incident


def deactivate_reserve(author_id: int, reason: str, now: datetime | None = None,
                       close_driftinfo: Iterable[int] = ()) -> Incident:
    """End the reserve routine on IT staff's confirmation, withdrawing the notices IT chose to close."""
    now = now or utcnow()
    begin_write()
    incident = reserve_activation.deactivate_by_staff(author_id, _public_text("reason", reason, 1000), now,
                                                      current_settings(), close_driftinfo=close_driftinfo)
    cache.invalidate()
    return incident


def set_telephony(author_id: int, disrupted: bool, message: str, now: datetime | None = None) -> Incident | None:
    """Mark telephony disrupted (opens the telephony incident) or working again (resolves it)."""
    now = now or utcnow()
    message = _public_text("message", message, 2000)
    settings = current_settings()
    begin_write()
    _set_telephony_component(disrupted, now)
    open_incident = incidents.open_incident_of(TRACK_TELEPHONY, for_update=True)
    if disrupted:
        if open_incident is None:
            open_incident = incidents.open_incident(Scenario.TELEPHONY_DISRUPTION, now, now, settings,
                                                    message=message, author_id=author_id)
        else:
            incidents.append_update(open_incident, "status", message, now, author_id=author_id)
    elif open_incident is not None:
        incidents.resolve(open_incident, message, now, settings, author_id=author_id)
    db.session.commit()
    cache.invalidate()
    return open_incident


def _set_telephony_component(disrupted: bool, now: datetime) -> None:
    """Set the telephony component down or up, opening or closing its outage period."""
    db.session.execute(update(Component).where(Component.key == TELEPHONY)
                       .values(state="down" if disrupted else "up", state_changed_at=now,
                               monitored_since=func.coalesce(Component.monitored_since, now))
                       .execution_options(synchronize_session=False))
    component_id = incidents.component(TELEPHONY).id
    ongoing = db.session.scalar(select(Outage.id).where(Outage.component_id == component_id,
                                                        Outage.ended_at.is_(None)))
    if disrupted and ongoing is None:
        db.session.add(Outage(component_id=component_id, started_at=now))
    elif not disrupted and ongoing is not None:
        db.session.execute(update(Outage).where(Outage.id == ongoing).values(ended_at=now)
                           .execution_options(synchronize_session=False))


def schedule_maintenance(author_id: int, component_key: str, starts_at: datetime, ends_at: datetime, reason: str,
                         now: datetime | None = None) -> MaintenanceWindow:
    """Schedule a maintenance window: down is suppressed and the four-hour clock pauses inside it."""
    now = now or utcnow()
    reason = _public_text("reason", reason, 500)
    if ends_at <= starts_at:
        raise ValidationFailed.single("ends_at", "Slutet måste ligga efter början.")
    if ends_at <= now:
        raise ValidationFailed.single("ends_at", "Fönstret har redan passerat.")
    begin_write()
    component = db.session.scalar(select(Component).where(Component.key == component_key))
    if component is None:
        raise ValidationFailed.single("component", "Okänd komponent.")
    window = MaintenanceWindow(component_id=component.id, starts_at=starts_at, ends_at=ends_at, reason=reason,
                               created_by_id=author_id, created_at=now)
    db.session.add(window)
    db.session.flush()
    incidents.refresh_reserve_due(now)
    db.session.commit()
    cache.invalidate()
    return window


def claim_recovery_event(worker_id: str, now: datetime | None = None) -> RecoveryEvent | None:
    """Claim the oldest unprocessed recovery event for the sync engine; each is handed out exactly once."""
    now = now or utcnow()
    while True:
        begin_write()
        candidate = db.session.scalar(select(RecoveryEvent.id).where(RecoveryEvent.processed_at.is_(None))
                                      .order_by(RecoveryEvent.id).limit(1))
        if candidate is None:
            db.session.commit()
            return None
        result = db.session.execute(
            update(RecoveryEvent).where(RecoveryEvent.id == candidate, RecoveryEvent.processed_at.is_(None))
            .values(processed_at=now, processed_by=worker_id[:80]).execution_options(synchronize_session=False))
        db.session.commit()
        if result.rowcount == 1:
            return db.session.get(RecoveryEvent, candidate, populate_existing=True)


def run_probe_cycle(now: datetime | None = None, *, prober=None) -> monitor.CycleReport:  # noqa: ANN001
    """Probe what is due and bring component states and incidents up to date (the monitor's main job)."""
    kwargs = {"prober": prober} if prober is not None else {}
    report = monitor.run_probe_cycle(now or utcnow(), current_settings(), **kwargs)
    cache.invalidate()
    return report


def run_reserve_check(now: datetime | None = None) -> list[int]:
    """Apply the four-hour rule; return the incidents whose reserve routine was activated now."""
    activated = reserve_activation.activate_due(now or utcnow(), current_settings())
    if activated:
        cache.invalidate()
    return activated


def deliver_notifications(now: datetime | None = None) -> int:
    """Queue due reminders, then send what the outbox holds; return how many went out."""
    now = now or utcnow()
    begin_write()
    notifications.queue_reminders(now, current_settings())
    db.session.commit()
    return notifications.deliver_due(now)
