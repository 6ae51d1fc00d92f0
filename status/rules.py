"""Rules of seed 001 as plain functions: scenarios, the four-hour rule, escalation, availability.

No Flask, no store, no clock: every function is given the moment it reasons about.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from status.machine import CONFIRMED_DOWN, UP
from status.scenarios import Scenario

# Seed 001: "Efter 4 timmar och om prognos fortfarande saknas, aktiveras reservrutin".
RESERVE_AFTER = timedelta(hours=4)

HEARTBEAT_UNKNOWN, HEARTBEAT_UP, HEARTBEAT_DOWN = "unknown", "up", "down"

Period = tuple[datetime, datetime | None]


# --- Scenarios ---------------------------------------------------------------------------

def classify_outage(main_state: str, reference_state: str) -> Scenario | None:
    """Return the outage scenario for the main server and reference target states, or None."""
    if main_state not in CONFIRMED_DOWN:
        return None
    if reference_state in CONFIRMED_DOWN:
        return Scenario.FULL_REGIONAL_OUTAGE
    return Scenario.MAIN_SERVER_OUTAGE


def heartbeat_state(last_heartbeat_at: datetime | None, now: datetime, timeout: timedelta,
                    expected_since: datetime | None) -> str:
    """Return whether customer service's heartbeat is fresh, missing, or not expected now.

    Heartbeats are expected from `expected_since` (when customer service opened today; None
    while closed). Silence counts from then, so the first minutes of the morning are not an
    outage; an installation that never sent one is not watched at all.
    """
    if last_heartbeat_at is None:
        return HEARTBEAT_UNKNOWN
    if now - last_heartbeat_at < timeout:
        return HEARTBEAT_UP
    if expected_since is None or now - max(last_heartbeat_at, expected_since) < timeout:
        return HEARTBEAT_UNKNOWN
    return HEARTBEAT_DOWN


def silence_started(last_heartbeat_at: datetime, expected_since: datetime | None) -> datetime:
    """Return when contact was last known, or when it became expected if that was later."""
    return max(last_heartbeat_at, expected_since) if expected_since else last_heartbeat_at


def customer_service_lost_contact(main_state: str, heartbeat: str) -> bool:
    """Return whether only customer service is cut off: the main server up, their heartbeat stale."""
    return main_state == UP and heartbeat == HEARTBEAT_DOWN


# --- The four-hour rule ----------------------------------------------------------------

def merge_periods(periods: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Return the periods sorted with overlapping ones joined."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(p for p in periods if p[1] > p[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def reserve_due_at(started_at: datetime, pauses: Iterable[tuple[datetime, datetime]] = ()) -> datetime:
    """Return started_at + 4 h, with the clock paused during the given maintenance windows."""
    due = started_at + RESERVE_AFTER
    for start, end in merge_periods(pauses):
        if end <= started_at:
            continue
        if start >= due:
            break
        due += end - max(start, started_at)
    return due


def prognosis_valid(prognosis_until: datetime | None, now: datetime) -> bool:
    """Return whether a prognosis holds: one whose restoration time has passed counts as none."""
    return prognosis_until is not None and prognosis_until > now


@dataclass(frozen=True)
class ReserveFacts:
    """What the four-hour rule needs to know about one incident."""

    scenario: Scenario
    reserve_due_at: datetime | None
    prognosis_until: datetime | None = None
    ongoing: bool = True  # open and not recovered
    ever_activated: bool = False  # by the system or by IT staff; IT's decision then stands
    in_maintenance: bool = False


@dataclass(frozen=True)
class Countdown:
    activates_at: datetime
    seconds_left: int
    waiting_for_prognosis: bool  # a valid prognosis holds activation back until it passes


def reserve_countdown(facts: ReserveFacts, now: datetime) -> Countdown | None:
    """Return when automatic activation happens if nothing changes, or None if it never will."""
    if (not facts.scenario.guide.automatic_reserve or not facts.ongoing or facts.ever_activated
            or facts.reserve_due_at is None):
        return None
    at = facts.reserve_due_at
    held = prognosis_valid(facts.prognosis_until, now)
    if held and facts.prognosis_until > at:  # type: ignore[operator]
        at = facts.prognosis_until  # type: ignore[assignment]
    return Countdown(at, max(int((at - now).total_seconds()), 0), held)


def automatic_reserve_due(facts: ReserveFacts, now: datetime) -> bool:
    """Return whether the reserve routine must be activated automatically at `now`.

    Seed 001: "Efter 4 timmar och om prognos fortfarande saknas, aktiveras reservrutin". The one
    form of the rule: the countdown has run out and no valid prognosis holds it back; never during
    planned maintenance. reserve_activation.automatic_conditions says the same in SQL.
    """
    countdown = reserve_countdown(facts, now)
    return (countdown is not None and not countdown.waiting_for_prognosis and now >= countdown.activates_at
            and not facts.in_maintenance)


# --- Escalation --------------------------------------------------------------------------

SYSTEM_OWNER = "system_owner"
SYSTEM_OWNER_MANAGER = "system_owner_manager"
SERVICEDESK = "servicedesk"
SUPPLIER = "supplier"
IT_DRIFTINFO = "it_driftinfo"
TELEPHONY_OWNER = "telephony_owner"
CUSTOMER_SERVICE = "customer_service"
ESCALATION_ROLES = (SYSTEM_OWNER, SYSTEM_OWNER_MANAGER, SERVICEDESK, SUPPLIER, IT_DRIFTINFO,
                    TELEPHONY_OWNER, CUSTOMER_SERVICE)
ROLE_LABELS = {
    SYSTEM_OWNER: "Systemansvarig",
    SYSTEM_OWNER_MANAGER: "Enhetschef för systemansvarig",
    SERVICEDESK: "Servicedesk",
    SUPPLIER: "Systemleverantör",
    IT_DRIFTINFO: "Regionala IT-funktionen (driftinfo)",
    TELEPHONY_OWNER: "Telefoniansvarig",
    CUSTOMER_SERVICE: "Kundservice",
}


@dataclass(frozen=True)
class WeeklyHours:
    """Hours that repeat every week in Swedish local time: the SA's duty, customer service's opening."""

    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    start: time = time(8, 0)
    end: time = time(17, 0)


def is_on_duty(local_moment: datetime, hours: WeeklyHours) -> bool:
    """Return whether the local moment falls within the weekly hours."""
    return local_moment.weekday() in hours.weekdays and hours.start <= local_moment.time() < hours.end


def opened_at(local_moment: datetime, hours: WeeklyHours) -> datetime | None:
    """Return when today's hours began (local), or None when the moment is outside them."""
    if not is_on_duty(local_moment, hours):
        return None
    return local_moment.replace(hour=hours.start.hour, minute=hours.start.minute, second=0, microsecond=0)


def escalation_plan(scenario: Scenario, on_duty: bool) -> tuple[str, ...]:
    """Return whom to notify when an incident of this scenario is confirmed (seed 001 section 3)."""
    if scenario is Scenario.MAIN_SERVER_OUTAGE:
        off_duty = () if on_duty else (SYSTEM_OWNER_MANAGER, SERVICEDESK)
        return (SYSTEM_OWNER, *off_duty, SUPPLIER)
    if scenario is Scenario.CUSTOMER_SERVICE_CONTACT_LOST:
        return (IT_DRIFTINFO, TELEPHONY_OWNER)
    if scenario is Scenario.TELEPHONY_DISRUPTION:
        return (TELEPHONY_OWNER,)
    return ()  # a full regional outage: wait for instructions, no planned actions


RESERVE_NOTICE_ROLES = (SYSTEM_OWNER, CUSTOMER_SERVICE)


def reminder_number(detected_at: datetime, now: datetime, interval: timedelta | None) -> int:
    """Return how many reminder intervals have passed since detection (0: none due)."""
    if not interval or interval <= timedelta(0) or now <= detected_at:
        return 0
    return int((now - detected_at) / interval)


# --- Driftinfo --------------------------------------------------------------------------

def driftinfo_ended_at(valid_until: datetime | None, withdrawn_at: datetime | None,
                       incident_resolved_at: datetime | None, now: datetime) -> datetime | None:
    """Return when a notice stopped being current: withdrawn, past its valid-until, or its incident over.

    None while it is current. A notice about an incident never outlives it, so the page never
    shows an outage notice beneath "Alla system i drift".
    """
    ends = [moment for moment in (withdrawn_at, valid_until, incident_resolved_at) if moment and moment <= now]
    return min(ends) if ends else None


# --- Availability ------------------------------------------------------------------------

def availability(downtimes: Iterable[Period], window_start: datetime, now: datetime,
                 monitored_since: datetime | None, maintenance: Iterable[Period] = ()) -> float | None:
    """Return the percentage of the window's measured time during which the component was not down.

    Measured time runs from the later of the window's start and the start of monitoring up to
    `now`, less planned maintenance (announced in advance, so it is no disturbance). Down time is
    confirmed outages, an open one up to now, outside maintenance. None: nothing measured yet.
    """
    if monitored_since is None or monitored_since >= now:
        return None
    begin = max(window_start, monitored_since)
    paused = _clipped(maintenance, begin, now)
    measured = (now - begin).total_seconds() - _seconds(paused)
    if measured <= 0:
        return None
    down = _clipped(downtimes, begin, now)
    down_outside_maintenance = _seconds(down) - _seconds(_intersection(down, paused))
    return 100.0 * (1 - down_outside_maintenance / measured)


def availability_shown(percent: float) -> float:
    """Return the percentage cut (not rounded) to two decimals: a short outage never shows as 100 %."""
    return math.floor(percent * 100 + 1e-9) / 100


def _clipped(periods: Iterable[Period], begin: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return merge_periods((max(start, begin), min(stop or end, end)) for start, stop in periods)


def _intersection(first: list[tuple[datetime, datetime]],
                  second: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    return merge_periods((max(a, c), min(b, d)) for a, b in first for c, d in second)


def _seconds(periods: list[tuple[datetime, datetime]]) -> float:
    return sum((end - start).total_seconds() for start, end in periods)
