"""Seed 001's rules as plain functions: scenarios, four-hour rule, escalation, availability."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from core.clock import to_local
from core.mail import contains_personal_data
from status.rules import (
    HEARTBEAT_DOWN, HEARTBEAT_UNKNOWN, HEARTBEAT_UP, SERVICEDESK, SUPPLIER, SYSTEM_OWNER, SYSTEM_OWNER_MANAGER,
    TELEPHONY_OWNER, ReserveFacts, WeeklyHours, automatic_reserve_due, availability, availability_shown, classify_outage, driftinfo_ended_at,
    customer_service_lost_contact, escalation_plan, heartbeat_state, is_on_duty, opened_at, prognosis_valid,
    reminder_number, reserve_countdown, reserve_due_at, silence_started,
)
from status.scenarios import Scenario

OUTAGE_START = datetime(2026, 11, 2, 9, 0)
FOUR_HOURS_LATER = OUTAGE_START + timedelta(hours=4)
ONE_SECOND = timedelta(seconds=1)


def facts(**overrides) -> ReserveFacts:
    values = {"scenario": Scenario.MAIN_SERVER_OUTAGE, "reserve_due_at": FOUR_HOURS_LATER}
    values.update(overrides)
    return ReserveFacts(**values)


@pytest.mark.parametrize(("main", "reference", "expected"), [
    ("up", "up", None),
    ("suspect", "down", None),
    ("down", "up", Scenario.MAIN_SERVER_OUTAGE),
    ("down", "suspect", Scenario.MAIN_SERVER_OUTAGE),
    ("down", "down", Scenario.FULL_REGIONAL_OUTAGE),
    ("recovering", "down", Scenario.FULL_REGIONAL_OUTAGE),
    ("maintenance", "down", None),
])
def test_outage_scenario_follows_main_server_and_reference_target(main, reference, expected):
    assert classify_outage(main, reference) is expected


def test_customer_service_lost_contact_only_while_the_main_server_is_up():
    now, three_minutes, opened = OUTAGE_START, timedelta(minutes=3), OUTAGE_START - timedelta(hours=2)
    stale = heartbeat_state(now - three_minutes, now, three_minutes, opened)
    fresh = heartbeat_state(now - timedelta(minutes=2, seconds=59), now, three_minutes, opened)
    assert (stale, fresh) == (HEARTBEAT_DOWN, HEARTBEAT_UP)
    assert heartbeat_state(None, now, three_minutes, opened) == HEARTBEAT_UNKNOWN
    assert customer_service_lost_contact("up", HEARTBEAT_DOWN)
    assert not customer_service_lost_contact("down", HEARTBEAT_DOWN)
    assert not customer_service_lost_contact("up", HEARTBEAT_UNKNOWN)


def test_silence_outside_opening_hours_and_in_the_first_minutes_after_opening_is_not_lost_contact():
    three_minutes = timedelta(minutes=3)
    last_evening = datetime(2026, 11, 2, 15, 29)  # 16:29 CET, just before closing
    assert heartbeat_state(last_evening, datetime(2026, 11, 2, 20, 0), three_minutes, None) == HEARTBEAT_UNKNOWN
    opened = datetime(2026, 11, 3, 7, 0)  # 08:00 CET the next morning
    assert heartbeat_state(last_evening, opened + timedelta(minutes=2), three_minutes, opened) == HEARTBEAT_UNKNOWN
    assert heartbeat_state(last_evening, opened + three_minutes, three_minutes, opened) == HEARTBEAT_DOWN
    assert silence_started(last_evening, opened) == opened
    hours = WeeklyHours(end=time(16, 30))
    assert opened_at(to_local(datetime(2026, 11, 3, 9, 15)), hours).strftime("%H:%M") == "08:00"
    assert opened_at(to_local(datetime(2026, 11, 3, 16, 0)), hours) is None  # 17:00 CET


def test_reserve_activates_at_exactly_four_hours_without_prognosis():
    assert automatic_reserve_due(facts(), FOUR_HOURS_LATER)


def test_reserve_does_not_activate_at_three_hours_59_minutes_59_seconds():
    assert not automatic_reserve_due(facts(), FOUR_HOURS_LATER - ONE_SECOND)


def test_no_reserve_while_a_prognosis_holds_and_reserve_once_it_has_passed():
    prognosis_until = FOUR_HOURS_LATER + timedelta(hours=1)
    assert not automatic_reserve_due(facts(prognosis_until=prognosis_until), FOUR_HOURS_LATER)
    assert not automatic_reserve_due(facts(prognosis_until=prognosis_until), prognosis_until - ONE_SECOND)
    assert automatic_reserve_due(facts(prognosis_until=prognosis_until), prognosis_until)


def test_a_prognosis_that_passed_before_four_hours_counts_as_none():
    assert automatic_reserve_due(facts(prognosis_until=OUTAGE_START + timedelta(hours=2)), FOUR_HOURS_LATER)
    assert not prognosis_valid(FOUR_HOURS_LATER, FOUR_HOURS_LATER)
    assert prognosis_valid(FOUR_HOURS_LATER, FOUR_HOURS_LATER - ONE_SECOND)


@pytest.mark.parametrize("scenario", [Scenario.FULL_REGIONAL_OUTAGE, Scenario.CUSTOMER_SERVICE_CONTACT_LOST,
                                      Scenario.TELEPHONY_DISRUPTION])
def test_only_a_main_server_outage_activates_the_reserve_automatically(scenario):
    assert not automatic_reserve_due(facts(scenario=scenario), FOUR_HOURS_LATER + timedelta(hours=10))


def test_never_twice_nor_after_recovery_nor_in_maintenance():
    later = FOUR_HOURS_LATER + timedelta(minutes=5)
    assert not automatic_reserve_due(facts(ever_activated=True), later)
    assert not automatic_reserve_due(facts(ongoing=False), later)
    assert not automatic_reserve_due(facts(in_maintenance=True), later)


def test_maintenance_windows_pause_the_four_hour_clock():
    window = (OUTAGE_START + timedelta(hours=1), OUTAGE_START + timedelta(hours=2, minutes=30))
    assert reserve_due_at(OUTAGE_START, [window]) == FOUR_HOURS_LATER + timedelta(hours=1, minutes=30)
    # Overlapping windows count once; a window before the start or after the deadline not at all.
    overlapping = [window, (OUTAGE_START + timedelta(hours=2), OUTAGE_START + timedelta(hours=3))]
    assert reserve_due_at(OUTAGE_START, overlapping) == FOUR_HOURS_LATER + timedelta(hours=2)
    before = (OUTAGE_START - timedelta(hours=3), OUTAGE_START - timedelta(hours=1))
    after = (FOUR_HOURS_LATER + timedelta(hours=1), FOUR_HOURS_LATER + timedelta(hours=2))
    assert reserve_due_at(OUTAGE_START, [before, after]) == FOUR_HOURS_LATER
    # A window that began before the outage pauses the clock only from the outage's start.
    spanning = (OUTAGE_START - timedelta(hours=1), OUTAGE_START + timedelta(minutes=30))
    assert reserve_due_at(OUTAGE_START, [spanning]) == FOUR_HOURS_LATER + timedelta(minutes=30)


def test_countdown_shows_the_deadline_or_the_prognosis_that_holds_it_back():
    countdown = reserve_countdown(facts(), OUTAGE_START + timedelta(hours=1))
    assert countdown.activates_at == FOUR_HOURS_LATER and countdown.seconds_left == 3 * 3600
    held = reserve_countdown(facts(prognosis_until=FOUR_HOURS_LATER + timedelta(hours=2)), OUTAGE_START)
    assert held.waiting_for_prognosis and held.activates_at == FOUR_HOURS_LATER + timedelta(hours=2)
    assert reserve_countdown(facts(scenario=Scenario.FULL_REGIONAL_OUTAGE), OUTAGE_START) is None
    assert reserve_countdown(facts(ever_activated=True), OUTAGE_START) is None


def test_system_owner_on_duty_gets_it_with_the_supplier():
    assert escalation_plan(Scenario.MAIN_SERVER_OUTAGE, on_duty=True) == (SYSTEM_OWNER, SUPPLIER)


def test_off_duty_adds_the_manager_and_a_servicedesk_incident():
    assert escalation_plan(Scenario.MAIN_SERVER_OUTAGE, on_duty=False) == (
        SYSTEM_OWNER, SYSTEM_OWNER_MANAGER, SERVICEDESK, SUPPLIER)


def test_full_regional_outage_escalates_to_nobody_and_telephony_to_its_owner():
    assert escalation_plan(Scenario.FULL_REGIONAL_OUTAGE, on_duty=True) == ()
    assert escalation_plan(Scenario.TELEPHONY_DISRUPTION, on_duty=True) == (TELEPHONY_OWNER,)


def test_duty_schedule_is_read_in_swedish_time():
    schedule = WeeklyHours(weekdays=frozenset({0, 1, 2, 3, 4}), start=time(8), end=time(17))
    assert is_on_duty(to_local(datetime(2026, 11, 2, 9, 0)), schedule)  # Monday 10:00 CET
    assert not is_on_duty(to_local(datetime(2026, 11, 2, 16, 0)), schedule)  # Monday 17:00 CET
    assert not is_on_duty(to_local(datetime(2026, 11, 7, 9, 0)), schedule)  # Saturday
    assert is_on_duty(to_local(datetime(2026, 6, 1, 6, 30)), schedule)  # Monday 08:30 CEST


def test_reminders_count_whole_intervals_since_detection():
    assert reminder_number(OUTAGE_START, OUTAGE_START + timedelta(minutes=29), timedelta(minutes=30)) == 0
    assert reminder_number(OUTAGE_START, OUTAGE_START + timedelta(minutes=61), timedelta(minutes=30)) == 2
    assert reminder_number(OUTAGE_START, OUTAGE_START + timedelta(hours=5), None) == 0


def test_availability_over_a_window_counts_confirmed_down_time_only():
    now = OUTAGE_START + timedelta(days=1)
    outages = [(OUTAGE_START + timedelta(hours=1), OUTAGE_START + timedelta(hours=2, minutes=24))]  # 1 h 24 min
    measured = availability(outages, now - timedelta(hours=24), now, OUTAGE_START - timedelta(days=40))
    assert measured == pytest.approx(100 * (1 - 84 / 1440)) and availability_shown(measured) == 94.16
    assert availability([], now - timedelta(hours=24), now, OUTAGE_START) == 100.0
    assert availability(outages, now - timedelta(hours=24), now, None) is None
    # An outage still going on counts up to now; monitoring younger than the window shortens it.
    assert availability([(now - timedelta(hours=1), None)], now - timedelta(days=7), now, now - timedelta(hours=2)) == 50.0


def test_shown_availability_is_cut_so_a_short_outage_never_shows_as_a_hundred_percent():
    one_second_in_thirty_days = 100 * (1 - 1 / (30 * 86400))
    assert availability_shown(one_second_in_thirty_days) == 99.99
    assert availability_shown(100.0) == 100.0


def test_personal_data_is_recognised_in_mail_text():
    assert contains_personal_data("Gäller 19121212-1212")
    assert contains_personal_data("patient 191212121212")
    assert not contains_personal_data("Ring Kundservice 010-473 80 80 eller 30 000.")


def test_driftinfo_ends_at_the_first_of_withdrawal_valid_until_and_its_incident_resolved():
    hour = timedelta(hours=1)
    assert driftinfo_ended_at(None, None, None, OUTAGE_START) is None
    assert driftinfo_ended_at(OUTAGE_START + hour, None, None, OUTAGE_START) is None  # valid a while yet
    assert driftinfo_ended_at(OUTAGE_START + hour, None, None, OUTAGE_START + hour) == OUTAGE_START + hour
    assert driftinfo_ended_at(OUTAGE_START + 2 * hour, OUTAGE_START + hour, OUTAGE_START + 3 * hour,
                              OUTAGE_START + 4 * hour) == OUTAGE_START + hour
    assert driftinfo_ended_at(None, None, OUTAGE_START + hour, OUTAGE_START + 2 * hour) == OUTAGE_START + hour
