"""The per-component state machine up → suspect → down → recovering → up, plus maintenance.

Pure: plain values in, plain values out; no Flask, no store, no clock. A maintenance
window pauses the machine: results inside it are recorded by the caller but never move
the machine, so down is suppressed and a running failure streak resumes where it was
when the window ends.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

UP, SUSPECT, DOWN, RECOVERING, MAINTENANCE = "up", "suspect", "down", "recovering", "maintenance"
STATES = (UP, SUSPECT, DOWN, RECOVERING, MAINTENANCE)
# Down has been confirmed and not yet confirmed over.
CONFIRMED_DOWN = frozenset({DOWN, RECOVERING})


class Transition(str, Enum):
    SUSPECTED = "suspected"
    CLEARED = "cleared"  # suspect → up: a blip, no incident
    CONFIRMED_DOWN = "confirmed_down"
    RECOVERING = "recovering"
    RELAPSED = "relapsed"  # recovering → down
    CONFIRMED_UP = "confirmed_up"
    MAINTENANCE_STARTED = "maintenance_started"
    MAINTENANCE_ENDED = "maintenance_ended"


@dataclass(frozen=True)
class Thresholds:
    failures_to_down: int = 3
    successes_to_up: int = 2

    def __post_init__(self) -> None:
        if self.failures_to_down < 1 or self.successes_to_up < 1:
            raise ValueError("thresholds must be at least 1")


@dataclass(frozen=True)
class Observation:
    at: datetime
    ok: bool
    in_maintenance: bool = False


@dataclass(frozen=True)
class Machine:
    state: str = UP
    failures: int = 0
    successes: int = 0
    failure_started_at: datetime | None = None  # the first failed probe of the streak
    recovery_started_at: datetime | None = None  # the first good probe after a confirmed down
    paused_state: str | None = None


def advance(machine: Machine, observation: Observation,
            thresholds: Thresholds = Thresholds()) -> tuple[Machine, tuple[Transition, ...]]:
    """Return the machine after one probe result and the transitions it caused, in order."""
    machine = _not_ahead_of(machine, observation.at)
    if observation.in_maintenance:
        if machine.state == MAINTENANCE:
            return machine, ()
        return replace(machine, state=MAINTENANCE, paused_state=machine.state), (Transition.MAINTENANCE_STARTED,)
    transitions: tuple[Transition, ...] = ()
    if machine.state == MAINTENANCE:
        machine = replace(machine, state=machine.paused_state or UP, paused_state=None)
        transitions = (Transition.MAINTENANCE_ENDED,)
    machine, transition = _step(machine, observation, thresholds)
    return machine, transitions + ((transition,) if transition else ())


def _not_ahead_of(machine: Machine, at: datetime) -> Machine:
    """Return the machine with no streak starting after `at`: stamps from before the clock went back."""
    return replace(machine, failure_started_at=_earlier(machine.failure_started_at, at),
                   recovery_started_at=_earlier(machine.recovery_started_at, at))


def _earlier(moment: datetime | None, at: datetime) -> datetime | None:
    return at if moment is not None and moment > at else moment


def _step(machine: Machine, obs: Observation, th: Thresholds) -> tuple[Machine, Transition | None]:
    state = machine.state
    if state == UP:
        if obs.ok:
            return Machine(), None
        return _failed(Machine(state=SUSPECT, failure_started_at=obs.at), th, Transition.SUSPECTED)
    if state == SUSPECT:
        if obs.ok:
            return Machine(), Transition.CLEARED
        return _failed(machine, th, None)
    if state == DOWN:
        if not obs.ok:
            return replace(machine, failures=machine.failures + 1), None
        recovering = replace(machine, state=RECOVERING, successes=0, recovery_started_at=obs.at)
        return _succeeded(recovering, th, Transition.RECOVERING)
    if state == RECOVERING:
        if not obs.ok:
            return replace(machine, state=DOWN, successes=0, recovery_started_at=None,
                           failures=machine.failures + 1), Transition.RELAPSED
        return _succeeded(machine, th, None)
    raise ValueError(f"unknown state {state!r}")


def _failed(machine: Machine, th: Thresholds, otherwise: Transition | None) -> tuple[Machine, Transition | None]:
    machine = replace(machine, failures=machine.failures + 1)
    if machine.failures >= th.failures_to_down:
        return replace(machine, state=DOWN), Transition.CONFIRMED_DOWN
    return machine, otherwise


def _succeeded(machine: Machine, th: Thresholds, otherwise: Transition | None) -> tuple[Machine, Transition | None]:
    machine = replace(machine, successes=machine.successes + 1)
    if machine.successes >= th.successes_to_up:
        return Machine(), Transition.CONFIRMED_UP
    return machine, otherwise
