"""Progress of back-registration: counts per state, rate and time left (no personal data)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from core.extensions import db
from sync.models import OutboxItem, PullState, SenderState
from sync.balance import Progress, progress
from sync.rules import NEEDS_PERSON, SETTLED, STATE_LABELS, STATES

SETTLED_HORIZON = timedelta(hours=24)  # settled items older than this are history, not progress


def snapshot(now: datetime, window_seconds: float) -> Progress:
    """Return the outbox's progress: everything unsettled, and what settled in the last 24 hours."""
    counts = dict(db.session.execute(
        select(OutboxItem.state, func.count()).where(or_(OutboxItem.state.not_in(tuple(SETTLED)),
                                                         OutboxItem.state_changed_at >= now - SETTLED_HORIZON))
        .group_by(OutboxItem.state)).all())
    lately = db.session.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.registered_at >= now - timedelta(seconds=window_seconds))) or 0
    return progress(counts, lately, window_seconds)


def public_progress(now: datetime) -> dict:
    """Return progress for the public status page: numbers only."""
    from sync.settings import current_settings

    settings = current_settings()
    state = snapshot(now, settings.rate_window_seconds)
    sender = db.session.get(SenderState, "sender")
    pulled = db.session.get(PullState, "main")
    return {
        "backlog": state.remaining,
        "waiting_for_people": state.waiting_for_people,
        "registered_last_24h": state.counts["acked"] + state.counts["resolved"],
        "counts": [{"state": s, "label": STATE_LABELS[s], "count": state.counts[s]} for s in STATES
                   if state.counts[s] or s in ("pending", "acked")],
        "rate_per_second": round(state.rate_per_second, 1) if state.rate_per_second else None,
        "seconds_left": int(state.seconds_left) if state.seconds_left is not None else None,
        "percent_done": round(state.percent_done, 1),
        "paused": bool(sender and sender.breaker_state == "open" and state.remaining),
        "paused_until": sender.retry_at if sender and sender.breaker_state == "open" else None,
        "data_as_of": pulled.last_success_at if pulled else None,
        "active": bool(state.remaining or state.waiting_for_people),
        "needs_person_states": sorted(NEEDS_PERSON),
    }
