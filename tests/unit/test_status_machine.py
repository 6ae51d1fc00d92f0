"""The component state machine, fed sequences of probe results (pure: no app, no store)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from status.machine import (
    DOWN, MAINTENANCE, RECOVERING, SUSPECT, UP, Machine, Observation, Thresholds, Transition, advance,
)

T0 = datetime(2026, 11, 2, 9, 0)


def run(results: str, *, start: Machine = Machine(), maintenance: str = "", thresholds: Thresholds = Thresholds()):
    """Feed results ('+' ok, '-' failed) 20 s apart; 'm' in `maintenance` marks a result inside a window."""
    machine, seen = start, []
    for i, mark in enumerate(results):
        in_window = i < len(maintenance) and maintenance[i] == "m"
        machine, transitions = advance(machine, Observation(T0 + timedelta(seconds=20 * i), mark == "+", in_window),
                                       thresholds)
        seen.append(transitions)
    return machine, seen


def flat(seen) -> list[Transition]:
    return [t for step in seen for t in step]


def test_three_failures_confirm_down_and_keep_the_first_failure_as_start():
    machine, seen = run("+---")
    assert machine.state == DOWN
    assert machine.failure_started_at == T0 + timedelta(seconds=20)
    assert seen[1] == (Transition.SUSPECTED,) and seen[2] == () and seen[3] == (Transition.CONFIRMED_DOWN,)


def test_two_failures_are_only_suspect():
    machine, seen = run("--")
    assert machine.state == SUSPECT and Transition.CONFIRMED_DOWN not in flat(seen)


def test_two_successes_confirm_up_after_down():
    machine, seen = run("---++")
    assert machine.state == UP
    assert seen[3] == (Transition.RECOVERING,) and seen[4] == (Transition.CONFIRMED_UP,)


def test_one_success_is_only_recovering_and_a_failure_sends_it_back_down():
    machine, seen = run("---+")
    assert machine.state == RECOVERING
    assert machine.recovery_started_at == T0 + timedelta(seconds=60)
    machine, seen = run("---+-")
    assert machine.state == DOWN and seen[-1] == (Transition.RELAPSED,)
    assert machine.failure_started_at == T0  # still the same outage


@pytest.mark.parametrize("sequence", ["-+-+-+-+", "--+--+--+", "+-+--+-"])
def test_flapping_within_thresholds_never_confirms_down(sequence):
    machine, seen = run(sequence)
    assert Transition.CONFIRMED_DOWN not in flat(seen)
    assert machine.state in (UP, SUSPECT)


def test_a_blip_clears_back_to_up_and_resets_the_streak():
    machine, seen = run("--+")
    assert machine == Machine() and seen[-1] == (Transition.CLEARED,)


def test_maintenance_suppresses_down_however_long_it_fails():
    machine, seen = run("+--------", maintenance="mmmmmmmmm")
    assert machine.state == MAINTENANCE
    assert Transition.CONFIRMED_DOWN not in flat(seen)
    assert seen[0] == (Transition.MAINTENANCE_STARTED,)


def test_after_maintenance_the_streak_starts_at_the_first_failure_outside_the_window():
    machine, seen = run("+mm---".replace("m", "-"), maintenance="mmm")
    assert machine.state == DOWN
    assert machine.failure_started_at == T0 + timedelta(seconds=60)  # the first failure after the window
    assert seen[3] == (Transition.MAINTENANCE_ENDED, Transition.SUSPECTED)


def test_maintenance_pauses_a_failure_streak_which_resumes_after_the_window():
    # Two failures, a window, then one more failure: down, and the start is the first failure.
    machine, seen = run("--" + "--" + "-", maintenance="  mm")
    assert machine.state == DOWN
    assert machine.failure_started_at == T0
    assert seen[4] == (Transition.MAINTENANCE_ENDED, Transition.CONFIRMED_DOWN)


def test_thresholds_are_configurable():
    machine, _ = run("-", thresholds=Thresholds(failures_to_down=1, successes_to_up=1))
    assert machine.state == DOWN
    machine, _ = run("-+", thresholds=Thresholds(failures_to_down=1, successes_to_up=1))
    assert machine.state == UP


def test_thresholds_below_one_are_refused():
    with pytest.raises(ValueError):
        Thresholds(failures_to_down=0)
