"""What the public sees: the status as one plain structure for HTML, JSON and Atom; and the banner.

Nothing here holds personal data: no names of staff or patients, only system facts and
texts IT staff published for everyone. The structure is cached per process for a moment
(STATUS_PAGE_CACHE_SECONDS), which keeps /status.json cheap under load.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from core.clock import utcnow
from core.extensions import db
from core.signals import first_value
from status import cache, driftinfo, signals
from status.models import Component, Incident, IncidentUpdate, MaintenanceWindow, Outage
from status.rules import ReserveFacts, availability, availability_shown, prognosis_valid, reserve_countdown
from status.scenarios import RESOLVED, STATUS_LABELS, TRACK_OUTAGE, Scenario
from core.formatting import duration_text, local_iso, local_text

STATE_LABELS = {
    "up": "I drift",
    "suspect": "Kontrolleras",
    "down": "Ur drift",
    "recovering": "Svarar igen – bevakas",
    "maintenance": "Planerat underhåll",
    "unknown": "Ingen aktuell signal",
}
WINDOWS = {"last_24h": timedelta(hours=24), "last_7d": timedelta(days=7), "last_30d": timedelta(days=30)}


class RenderedStatus(NamedTuple):
    """The public status, its JSON encoding and that encoding's entity tag (unquoted)."""

    status: dict
    body: bytes
    etag: str


def public_status(now: datetime) -> tuple[dict, bytes]:
    """Return the public status and its JSON encoding, from the cache while it is fresh."""
    rendered = rendered_status(now)
    return rendered.status, rendered.body


def rendered_status(now: datetime) -> RenderedStatus:
    """Return the public status rendered once per cache interval (STATUS_PAGE_CACHE_SECONDS) per process."""
    cached = cache.get()
    if cached is not None:
        return cached
    status = build_public_status(now)
    db.session.commit()  # end the read transaction at once
    encoded = json.dumps(jsonable(status), ensure_ascii=False, separators=(",", ":")).encode()
    rendered = RenderedStatus(status, encoded, content_etag(status))
    cache.put(rendered)
    return rendered


# Fields that only restate the clock: a rendering that differs from the last in these alone says nothing new.
CLOCK_ONLY = ("generated_at",)
RESERVE_CLOCK_ONLY = ("seconds_until_automatic_activation",)


def content_etag(status: dict) -> str:
    """Return a (weak) entity tag of what the status says, the clock-only fields left out.

    Every worker renders its own copy every STATUS_PAGE_CACHE_SECONDS; a tag of the bytes would change
    with each one (generated_at), so a poller would almost never get a 304 (measured: 3 of 4 conditional
    polls answered in full). With this tag any worker's rendering of the same facts matches.
    """
    basis = {key: value for key, value in status.items() if key not in CLOCK_ONLY}
    basis["reserve"] = {key: value for key, value in status["reserve"].items() if key not in RESERVE_CLOCK_ONLY}
    encoded = json.dumps(jsonable(basis), ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def jsonable(value: Any) -> Any:
    """Return the structure with every moment as ISO 8601 in Europe/Stockholm."""
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def build_public_status(now: datetime) -> dict:
    """Return components, incidents, reserve routine, driftinfo, history and availability at `now`."""
    components = list(db.session.scalars(select(Component).order_by(Component.position, Component.id)
                                         .execution_options(populate_existing=True)))
    open_incidents = list(db.session.scalars(
        select(Incident).where(or_(Incident.open_track.is_not(None), Incident.reserve_slot.is_not(None)))
        .options(selectinload(Incident.updates)).order_by(Incident.started_at)
        .execution_options(populate_existing=True)))
    history = list(db.session.scalars(
        select(Incident).where(Incident.status == RESOLVED, Incident.resolved_at >= now - timedelta(days=90))
        .order_by(Incident.resolved_at.desc()).limit(20)))
    windows = list(db.session.scalars(select(MaintenanceWindow).where(MaintenanceWindow.ends_at > now)
                                      .order_by(MaintenanceWindow.starts_at).limit(10)))
    horizon = now - max(WINDOWS.values())
    outages = list(db.session.execute(select(Outage.component_id, Outage.started_at, Outage.ended_at).where(
        or_(Outage.ended_at.is_(None), Outage.ended_at > horizon))))
    paused = list(db.session.execute(select(MaintenanceWindow.component_id, MaintenanceWindow.starts_at,
                                            MaintenanceWindow.ends_at)
                                     .where(MaintenanceWindow.ends_at > horizon, MaintenanceWindow.starts_at < now)))
    outage = next((i for i in open_incidents if i.open_track == TRACK_OUTAGE), None)
    reserve = _reserve(next((i for i in open_incidents if i.reserve_active), None), outage, now)
    return {
        "system": current_app.config["SYSTEM_NAME"],
        "generated_at": now,
        "timezone": "Europe/Stockholm",
        "overall": _overall(components, open_incidents, reserve),
        "components": [_component(c) for c in components],
        "reserve": reserve,
        "incidents": [_incident(i, now) for i in open_incidents],
        "driftinfo": [_notice(n) for n in driftinfo.current(now)],
        "driftinfo_archive": [_notice(n) for n in driftinfo.archived(now)],
        "maintenance": [{"component": w.component.name, "starts_at": w.starts_at, "ends_at": w.ends_at,
                         "reason": w.reason} for w in windows],
        "history": [_history(i) for i in history],
        "availability": [_availability(c, outages, paused, now) for c in components],
        "sync": _sync_progress(now),  # issue 7
    }


def _notice(notice: driftinfo.Notice) -> dict:
    return {"id": notice.id, "published_at": notice.published_at, "title": notice.title, "body": notice.body,
            "valid_until": notice.valid_until, "ended_at": notice.ended_at,
            "withdrawal_reason": notice.withdrawal_reason}


def _sync_progress(now: datetime) -> dict | None:
    """Back-registration progress from the sync package (counts, rate, time left; no personal data)."""
    return first_value(signals.public_sync_progress, current_app._get_current_object(), now=now)  # noqa: SLF001


def _component(row: Component) -> dict:
    return {"key": row.key, "name": row.name, "state": row.state, "state_label": STATE_LABELS[row.state],
            "since": row.state_changed_at}


def _overall(components: list[Component], open_incidents: list[Incident], reserve: dict) -> dict:
    if reserve["applies"]:
        return {"state": "reserve", "text": "Reservrutin gäller"}
    if any(i.track == TRACK_OUTAGE and i.recovered_at is None for i in open_incidents):
        return {"state": "outage", "text": "Driftstörning"}
    if any(i.open_track for i in open_incidents):
        return {"state": "degraded", "text": "Störning"}
    if any(c.state == "maintenance" for c in components):
        return {"state": "maintenance", "text": "Planerat underhåll pågår"}
    return {"state": "operational", "text": "Alla system i drift"}


def _reserve(active: Incident | None, outage: Incident | None, now: datetime) -> dict:
    if active is not None:
        return {"applies": True, "since": active.reserve_activated_at, "incident_id": active.id,
                "activated_by": "system" if active.reserve_activated_by == "system" else "it_staff",
                "reason": active.reserve_activation_reason, "automatic_activation_at": None,
                "seconds_until_automatic_activation": None, "waiting_for_prognosis": False,
                "text": f"Reservrutin gäller sedan {local_text(active.reserve_activated_at)}. "
                        "Akuta förskrivningar tas emot via Kundservice."}
    countdown = None
    if outage is not None:
        countdown = reserve_countdown(_facts(outage), now)
    if countdown is None:
        text = "Reservrutin gäller inte."
    elif countdown.waiting_for_prognosis:
        text = (f"Reservrutin gäller inte. Prognos finns; om den passeras utan att felet är åtgärdat aktiveras "
                f"reservrutinen {local_text(countdown.activates_at)}.")
    elif countdown.seconds_left == 0:  # due: the monitor's next reserve check activates it
        text = (f"Reservrutin gäller inte ännu. Tiden utan prognos gick ut {local_text(countdown.activates_at)}; "
                "reservrutinen aktiveras automatiskt inom kort.")
    else:
        text = (f"Reservrutin gäller inte ännu. Utan prognos aktiveras den automatiskt "
                f"{local_text(countdown.activates_at)} (om {duration_text(countdown.seconds_left)}).")
    return {"applies": False, "since": None, "incident_id": outage.id if outage else None, "activated_by": None,
            "reason": None, "automatic_activation_at": countdown.activates_at if countdown else None,
            "seconds_until_automatic_activation": countdown.seconds_left if countdown else None,
            "waiting_for_prognosis": bool(countdown and countdown.waiting_for_prognosis), "text": text}


def _facts(incident: Incident) -> ReserveFacts:
    return ReserveFacts(scenario=Scenario(incident.scenario), reserve_due_at=incident.reserve_due_at,
                        prognosis_until=incident.prognosis_until,
                        ongoing=incident.open_track is not None and incident.recovered_at is None,
                        ever_activated=incident.reserve_activated_at is not None)


def _incident(incident: Incident, now: datetime) -> dict:
    guide = Scenario(incident.scenario).guide
    prognosis = None
    if incident.prognosis_text:
        prognosis = {"text": incident.prognosis_text, "expected_restoration_at": incident.prognosis_until,
                     "published_at": incident.prognosis_at, "valid": prognosis_valid(incident.prognosis_until, now)}
    return {
        "id": incident.id, "scenario": incident.scenario, "title": guide.title, "summary": guide.summary,
        "status": incident.status, "status_label": STATUS_LABELS[incident.status],
        "started_at": incident.started_at, "detected_at": incident.detected_at,
        "recovered_at": incident.recovered_at, "prognosis": prognosis, "actions": list(guide.actions),
        "timeline": [{"id": u.id, "at": u.at, "kind": u.kind, "status": u.status,
                      "status_label": STATUS_LABELS[u.status], "message": u.message}
                     for u in reversed(incident.updates)],
    }


def _history(incident: Incident) -> dict:
    minutes = int(((incident.resolved_at or incident.started_at) - incident.started_at).total_seconds() // 60)
    return {"id": incident.id, "scenario": incident.scenario, "title": Scenario(incident.scenario).guide.title,
            "started_at": incident.started_at, "resolved_at": incident.resolved_at, "duration_minutes": minutes,
            "reserve_applied": incident.reserve_activated_at is not None}


def _availability(row: Component, outages: list, paused: list, now: datetime) -> dict:
    """Return each window's availability as a number, as Swedish text, and from when it was measured."""
    mine = [(o.started_at, o.ended_at) for o in outages if o.component_id == row.id]
    maintenance = [(w.starts_at, w.ends_at) for w in paused if w.component_id == row.id]
    since = row.monitored_since if row.kind != "manual" else (row.monitored_since or now - WINDOWS["last_30d"])
    # A manual component never reported counts as up over every window; its `since` is the clock, not a fact.
    result: dict[str, Any] = {"key": row.key, "name": row.name, "monitored_since": row.monitored_since}
    for label, span in WINDOWS.items():
        percent = availability(mine, now - span, now, since, maintenance)
        shown = None if percent is None else availability_shown(percent)
        result[label] = shown
        result[f"{label}_text"] = percent_text(shown)
        # A window older than the monitoring is measured only in part: say so rather than imply 30 days.
        result[f"{label}_complete"] = since is not None and since <= now - span
    return result


def percent_text(value: float | None) -> str:
    """Return a percentage in Swedish form ("99,93 %"), or a dash when there is none."""
    return "–" if value is None else f"{value:.2f} %".replace(".", ",")


def feed_entries(limit: int = 30, now: datetime | None = None) -> list[dict]:
    """Return the latest timeline updates and driftinfo posts, newest first, for the Atom feed.

    A notice that has ended stays in the feed, marked "upphört", so readers see that it no longer holds.
    """
    now = now or utcnow()
    updates = db.session.execute(
        select(IncidentUpdate.id, IncidentUpdate.at, IncidentUpdate.status, IncidentUpdate.message,
               Incident.id.label("incident_id"), Incident.scenario)
        .join(Incident, Incident.id == IncidentUpdate.incident_id)
        .order_by(IncidentUpdate.at.desc(), IncidentUpdate.id.desc()).limit(limit))
    entries = [{"key": f"update-{u.id}", "at": u.at,
                "title": f"{Scenario(u.scenario).guide.title} – {STATUS_LABELS[u.status]}",
                "content": u.message, "anchor": f"handelse-{u.incident_id}"} for u in updates]
    entries += [_feed_entry(notice) for notice in driftinfo.recent(now, limit)]
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    db.session.commit()
    return entries[:limit]


def _feed_entry(notice: driftinfo.Notice) -> dict:
    if notice.ended_at is None:
        return {"key": f"driftinfo-{notice.id}", "at": notice.published_at, "title": f"Driftinfo: {notice.title}",
                "content": notice.body, "anchor": f"driftinfo-{notice.id}"}
    note = f"Upphört {local_text(notice.ended_at)}" + (f": {notice.withdrawal_reason}" if notice.withdrawal_reason
                                                        else ".")
    # Updated when it ended, so feed readers show the entry again with its note.
    return {"key": f"driftinfo-{notice.id}", "at": notice.ended_at, "title": f"Driftinfo (upphört): {notice.title}",
            "content": f"{note}\n\n{notice.body}", "anchor": f"driftinfo-{notice.id}"}
