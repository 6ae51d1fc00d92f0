"""Schedules that survive a clock that goes backwards (an NTP correction, a reset shared clock).

Every schedule here is "at or after a stored moment". When the clock jumps back, moments stored
before the jump lie in the future and would hold the work back for as long as the jump. No clock
running forward can have stored a moment further ahead than the schedule's longest step, so such a
moment is treated as due (a deadline) or as stale (a claim, a lease) instead of waited for.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute


def due_clause(column: InstrumentedAttribute, now: datetime, longest_step: timedelta) -> ColumnElement[bool]:
    """Return SQL for work scheduled at `column`, at most `longest_step` ahead, that is due at `now`."""
    return or_(column.is_(None), column <= now, column > now + longest_step)


def expired_clause(column: InstrumentedAttribute, now: datetime, timeout: timedelta) -> ColumnElement[bool]:
    """Return SQL for a claim stamped at `column` that has lapsed, or was stamped before the clock went back."""
    return or_(column.is_(None), column < now - timeout, column > now)

