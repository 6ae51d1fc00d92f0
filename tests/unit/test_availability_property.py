"""Availability per window equals a brute-force count over minutes (hypothesis)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from status.rules import availability
from tests.instants import OUTAGE_START

MINUTE = timedelta(minutes=1)
SPAN = 600  # minutes on the time line: windows, outages and maintenance all fall inside it

minutes = st.integers(min_value=0, max_value=SPAN)
periods = st.lists(st.tuples(minutes, st.integers(min_value=1, max_value=120)), max_size=5)


def _at(minute: int):  # noqa: ANN202
    return OUTAGE_START + minute * MINUTE


def _brute_force(outages, open_outage, maintenance, window_start, now, monitored_since):  # noqa: ANN001, ANN202
    if monitored_since >= now:
        return None
    measured = down = 0
    for minute in range(max(window_start, monitored_since), now):
        if any(start <= minute < start + length for start, length in maintenance):
            continue
        measured += 1
        if any(start <= minute < start + length for start, length in outages) or (
                open_outage is not None and open_outage <= minute):
            down += 1
    return None if measured == 0 else 100.0 * (1 - down / measured)


@settings(max_examples=300, deadline=None)
@given(outages=periods, open_outage=st.none() | minutes, maintenance=periods, now=minutes,
       window=st.integers(min_value=1, max_value=SPAN), monitored_since=minutes)
def test_availability_equals_a_count_over_minutes(outages, open_outage, maintenance, now, window, monitored_since):
    downtimes = [(_at(start), _at(start + length)) for start, length in outages]
    if open_outage is not None:
        downtimes.append((_at(open_outage), None))
    expected = _brute_force(outages, open_outage, maintenance, now - window, now, monitored_since)
    found = availability(downtimes, _at(now - window), _at(now), _at(monitored_since),
                         [(_at(start), _at(start + length)) for start, length in maintenance])
    assert found == (None if expected is None else pytest.approx(expected, abs=1e-9))


def test_windows_of_different_length_give_different_figures_once_monitoring_covers_them():
    now = _at(40 * 24 * 60)
    outage = [(now - timedelta(hours=2), now - timedelta(hours=2) + MINUTE)]
    since = now - timedelta(days=35)
    figures = [availability(outage, now - span, now, since) for span in
               (timedelta(hours=24), timedelta(days=7), timedelta(days=30))]
    assert figures == [pytest.approx(100 * (1 - 1 / minutes)) for minutes in (1440, 7 * 1440, 30 * 1440)]
