"""Progress and the reconciliation balance as plain functions: counts in, figures out.

No Flask, no store. Progress: counts per state, rate and time left. Reconciliation: each
captured item is followed along its chain of edits and re-sends to where it ended.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sync.rules import (
    ACKED, CANCELLED, IN_FLIGHT, NEEDS_PERSON, PENDING, RESOLVED, SETTLED, STATE_LABELS, STATES,
)


# --- Progress -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    counts: dict[str, int]
    remaining: int  # still to go out by itself: pending + in flight
    waiting_for_people: int  # review, conflict, dead, blocked
    done: int  # settled
    rate_per_second: float | None  # registrations per second lately
    seconds_left: float | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def percent_done(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.done / self.total


def progress(counts: Mapping[str, int], registered_lately: int, window_seconds: float) -> Progress:
    """Return counts, rate and time left from the counts per state and the recent registrations."""
    full = {state: int(counts.get(state, 0)) for state in STATES}
    remaining = full[PENDING] + full[IN_FLIGHT]
    rate = registered_lately / window_seconds if window_seconds > 0 and registered_lately else None
    seconds_left = None
    if remaining == 0:
        seconds_left = 0.0
    elif rate:
        seconds_left = remaining / rate
    return Progress(full, remaining, sum(full[s] for s in NEEDS_PERSON), sum(full[s] for s in SETTLED),
                    rate, seconds_left)


# --- Reconciliation -----------------------------------------------------------------------

REGISTERED, RESOLVED_OUTCOME, CANCELLED_OUTCOME, OUTSTANDING = "registered", "resolved", "cancelled", "outstanding"
OUTCOME_LABELS = {
    REGISTERED: "Registrerad",
    RESOLVED_OUTCOME: "Löst konflikt",
    CANCELLED_OUTCOME: "Makulerad",
    OUTSTANDING: "Ej klar",
}


@dataclass(frozen=True)
class ChainLink:
    """One item of a capture's chain (the capture, then each edited or re-sent copy)."""

    key: str
    state: str
    server_id: str | None
    went_through_conflict: bool


def chain_outcome(chain: list[ChainLink]) -> tuple[str, str | None]:
    """Return the outcome of one captured item from its chain, and why it is not balanced (if not)."""
    last = chain[-1]
    conflicted = any(link.went_through_conflict for link in chain)
    if last.state == ACKED:
        if not last.server_id:
            return OUTSTANDING, "registrerad utan huvudserverns id"
        return (RESOLVED_OUTCOME if conflicted else REGISTERED), None
    if last.state == RESOLVED:
        if not last.server_id:
            return OUTSTANDING, "löst utan huvudserverns id"
        return RESOLVED_OUTCOME, None
    if last.state == CANCELLED:
        return CANCELLED_OUTCOME, None
    return OUTSTANDING, STATE_LABELS.get(last.state, last.state)


@dataclass(frozen=True)
class Balance:
    captured: int
    registered: int
    resolved: int
    cancelled: int
    outstanding: int

    @property
    def balanced(self) -> bool:
        return self.outstanding == 0 and self.captured == self.registered + self.resolved + self.cancelled


def balance(outcomes: Iterable[str]) -> Balance:
    """Return captured = registered + resolved + cancelled (+ outstanding)."""
    tally = {REGISTERED: 0, RESOLVED_OUTCOME: 0, CANCELLED_OUTCOME: 0, OUTSTANDING: 0}
    for outcome in outcomes:
        tally[outcome] += 1
    return Balance(sum(tally.values()), tally[REGISTERED], tally[RESOLVED_OUTCOME], tally[CANCELLED_OUTCOME],
                   tally[OUTSTANDING])
