"""Session rules: when a session has ended by itself, when to note that it is used, how to name a browser.

Plain values, no Flask, no store.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# "Keep writes cheap": a request notes the session's last use at most this often, so the idle
# timeout is honoured to within a minute and most requests write nothing.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionTimeouts:
    """A session ends `idle` after its last request, and `lifetime` after login whatever happens."""

    idle: timedelta
    lifetime: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SessionTimeouts:
        """Return the timeouts of the config; refuse a setting that is not a positive number, naming it."""
        return cls(idle=timedelta(minutes=_positive(config, "SESSION_IDLE_TIMEOUT_MINUTES")),
                   lifetime=timedelta(hours=_positive(config, "SESSION_ABSOLUTE_LIFETIME_HOURS")))

    def cutoffs(self, now: datetime) -> tuple[datetime, datetime]:
        """Return (last seen after, started after): a session is alive while both hold."""
        return now - self.idle, now - self.lifetime


def _positive(config: Mapping[str, Any], key: str) -> float:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{key} must be a positive number, not {value!r}")
    return float(value)


def is_alive(created_at: datetime, last_seen_at: datetime, now: datetime, timeouts: SessionTimeouts) -> bool:
    """Return whether a session started and last used at these moments is still valid now."""
    seen_after, started_after = timeouts.cutoffs(now)
    return last_seen_at > seen_after and created_at > started_after


def touch_due(last_seen_at: datetime, now: datetime) -> bool:
    """Return whether this request should write the session's new last use."""
    return now - last_seen_at >= TOUCH_INTERVAL


# Checked in order: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"),
             ("CriOS/", "Chrome"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"),
            ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"))
_PROGRAMS = re.compile(r"^(curl|python-requests|Wget|Werkzeug)/", re.IGNORECASE)


def browser_summary(user_agent: str | None) -> str:
    """Return a short Swedish description of a User-Agent header, e.g. "Firefox på Windows"."""
    agent = user_agent or ""
    program = _PROGRAMS.match(agent)
    if program:
        return f"Program ({program.group(1)})"
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser and system:
        return f"{browser} på {system}"
    return browser or (f"Okänd webbläsare på {system}" if system else "Okänd webbläsare")
