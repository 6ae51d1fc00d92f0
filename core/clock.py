"""The one place the application reads the time (freezegun controls it in tests).

A demo or a browser test may run every process of the product on a shared *simulated* clock:
set `APP_CLOCK_FILE` to a JSON file written by `set_simulated_clock`; each process then reads
the time as `simulated anchor + (real now - real anchor) × speed`. The file is re-read only
when it changes, so one process can jump or accelerate the clock of all the others. Without
the variable the clock is the real one.
"""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CLOCK_FILE_VARIABLE = "APP_CLOCK_FILE"


def _real_utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class _SimulatedClock:
    """The shared clock file, cached per process by its modification time."""

    def __init__(self) -> None:
        self._seen: tuple[str, int, int] | None = None
        self._anchor: tuple[datetime, datetime, float] | None = None

    def now(self, path: str) -> datetime:
        real = _real_utcnow()
        try:
            found = os.stat(path)
            stamp = (path, found.st_ino, found.st_mtime_ns)
        except FileNotFoundError:
            return real
        if stamp != self._seen:
            data = json.loads(Path(path).read_text())
            self._anchor = (datetime.fromisoformat(data["real"]), datetime.fromisoformat(data["simulated"]),
                            float(data["speed"]))
            self._seen = stamp
        real_anchor, simulated_anchor, speed = self._anchor
        return simulated_anchor + (real - real_anchor) * speed


_simulated = _SimulatedClock()


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime, the form stored in every table."""
    path = os.environ.get(CLOCK_FILE_VARIABLE)
    return _simulated.now(path) if path else _real_utcnow()


def simulated_now(path: str | os.PathLike) -> datetime:
    """Return the time of the shared clock in `path` (the real time while there is no such file)."""
    return _simulated.now(os.fspath(path))


def set_simulated_clock(path: str | os.PathLike, at: datetime, speed: float = 1.0) -> None:
    """Make every process reading `path` see the time `at` now, running `speed` times as fast as real time."""
    target = Path(path)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps({"real": _real_utcnow().isoformat(), "simulated": at.isoformat(),
                                     "speed": speed}))
    os.replace(temporary, target)  # readers never see half a file


def advance_simulated_clock(path: str | os.PathLike, by: timedelta, speed: float | None = None) -> datetime:
    """Jump the shared clock forward (keeping or changing its speed); return the new time."""
    data = json.loads(Path(path).read_text())
    at = simulated_now(path) + by
    set_simulated_clock(path, at, float(data["speed"]) if speed is None else speed)
    return at


def local_now() -> datetime:
    """Return the current time in Sweden."""
    return to_local(utcnow())


def local_today() -> date:
    return local_now().date()


def to_local(moment: datetime | None) -> datetime | None:
    """Return a stored naive-UTC moment as Swedish local time."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(STOCKHOLM)
