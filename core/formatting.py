"""Stored UTC moments shown in Swedish time with the zone named, and local input read back."""
from __future__ import annotations

from datetime import datetime, timezone

from core.clock import STOCKHOLM, to_local


def local_text(moment: datetime | None) -> str:
    """Return e.g. '2026-11-02 13:00 CET' for a stored naive-UTC moment."""
    local = to_local(moment)
    return local.strftime("%Y-%m-%d %H:%M %Z") if local else ""


def local_iso(moment: datetime | None) -> str | None:
    """Return ISO 8601 in Europe/Stockholm with its offset, e.g. '2026-11-02T13:00:00+01:00'."""
    local = to_local(moment)
    return local.isoformat(timespec="seconds") if local else None


def utc_from_local(local_naive: datetime) -> datetime:
    """Return the naive-UTC moment of a wall-clock time entered in Sweden."""
    return local_naive.replace(tzinfo=STOCKHOLM).astimezone(timezone.utc).replace(tzinfo=None)


def utc_from_aware(moment: datetime) -> datetime:
    """Return the naive-UTC moment of a timezone-aware datetime."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def duration_text(seconds: int) -> str:
    """Return e.g. '3 h 05 min' or '42 min'."""
    minutes = max(seconds, 0) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
