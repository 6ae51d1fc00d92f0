"""The one place the application reads the time (freezegun controls it in tests)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime, the form stored in every table."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def local_now() -> datetime:
    """Return the current time in Sweden."""
    return datetime.now(timezone.utc).astimezone(STOCKHOLM)


def local_today() -> date:
    return local_now().date()


def to_local(moment: datetime | None) -> datetime | None:
    """Return a stored naive-UTC moment as Swedish local time."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(STOCKHOLM)
