"""The return routine's rules as plain functions: no app, no store, no network."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from sync import rules
from sync.balance import ChainLink, balance, chain_outcome, progress
from sync.rules import (
    ACKED, BLOCKED, CANCELLED, CLOSED, CONFLICT, DEAD, IN_FLIGHT, OPEN, PENDING, RESOLVED, REVIEW, Backoff, Breaker,
    BreakerPolicy, ProtocolError, backoff_delay, breaker_failure, breaker_permit, breaker_recovered, breaker_success,
    can_move, canonical_json, check_results, editable, freeze, outcome_of, payload_hash, priority_of, resend_changes,
    resolutions_for,
)

NOON = datetime(2026, 11, 2, 12, 0)


def test_canonical_json_sorts_keys_has_no_spaces_and_keeps_swedish_letters():
    assert canonical_json({"b": 1, "a": {"ö": "Åsa", "c": [2, 1]}}) == '{"a":{"c":[2,1],"ö":"Åsa"},"b":1}'


def test_canonical_json_writes_dates_decimals_and_tuples_as_plain_json():
    text = canonical_json({"on": date(2026, 11, 2), "at": NOON, "price": Decimal("129.50"), "rows": (1, 2)})
    assert json.loads(text) == {"on": "2026-11-02", "at": "2026-11-02T12:00:00", "price": "129.50", "rows": [1, 2]}


def test_the_same_payload_in_another_key_order_has_the_same_hash():
    first, _ = freeze({"patient": {"personnummer": "195001011234"}, "rows": [{"article": "1"}]})
    second, _ = freeze({"rows": [{"article": "1"}], "patient": {"personnummer": "195001011234"}})
    assert first == second and payload_hash(first) == payload_hash(second)
    assert payload_hash(canonical_json(json.loads(first))) == payload_hash(first)  # survives a round trip


@pytest.mark.parametrize("bad", [{1: "x"}, {"x": {1, 2}}, {"x": float("nan")}, ["not", "a", "mapping"]])
def test_payloads_without_a_canonical_form_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        freeze(bad)


def test_payloads_over_64_kilobytes_are_refused():
    with pytest.raises(ValueError, match="larger than"):
        freeze({"text": "x" * (64 * 1024)})


def test_stock_moves_go_first_then_orders_prescriptions_withdrawals_work_orders():
    order = sorted(["work_order", "withdrawal", "prescription", "order", "stock_move"], key=priority_of)
    assert order == ["stock_move", "order", "prescription", "withdrawal", "work_order"]
    assert priority_of("outbound_delivery") == priority_of("order")
    assert priority_of("prescription_cancel") == priority_of("prescription")


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown outbox kind"):
        priority_of("invoice")


@pytest.mark.parametrize(("current", "target", "allowed"), [
    (REVIEW, PENDING, True), (REVIEW, IN_FLIGHT, False), (PENDING, IN_FLIGHT, True), (IN_FLIGHT, ACKED, True),
    (IN_FLIGHT, PENDING, True), (ACKED, PENDING, True), (ACKED, CANCELLED, False), (CONFLICT, RESOLVED, True),
    (CONFLICT, PENDING, False), (DEAD, PENDING, True), (BLOCKED, PENDING, True), (RESOLVED, PENDING, False),
    (CANCELLED, PENDING, False),
])
def test_the_outbox_state_machine(current, target, allowed):
    assert can_move(current, target) is allowed


def test_an_item_that_may_have_reached_the_server_cannot_be_edited():
    assert editable(PENDING, attempts=0, uncertain=False)
    assert editable(PENDING, attempts=3, uncertain=False)  # every answer so far was a definite no
    assert not editable(PENDING, attempts=1, uncertain=True)
    assert not editable(IN_FLIGHT, attempts=1, uncertain=False)
    assert not editable(ACKED, attempts=1, uncertain=False)
    assert editable(REVIEW, 0, False) and editable(DEAD, 2, False) and editable(CONFLICT, 1, False)


def test_backoff_is_full_jitter_under_a_doubling_ceiling_and_a_cap():
    policy = Backoff(base_seconds=1, cap_seconds=10)
    rng = random.Random(7)
    for attempts, ceiling in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (30, 10)):
        delays = [backoff_delay(attempts, policy, rng).total_seconds() for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread over the whole range


def test_breaker_opens_after_the_failures_waits_then_lets_one_trial_through():
    policy = BreakerPolicy(failures_to_open=3, cooldown_seconds=10, cooldown_cap_seconds=40)
    breaker = Breaker()
    assert breaker_permit(breaker, NOON).allowed
    for _ in range(2):
        breaker = breaker_failure(breaker, NOON, policy, trial=False)
        assert breaker.state == CLOSED
    breaker = breaker_failure(breaker, NOON, policy, trial=False)
    assert breaker.state == OPEN and breaker.retry_at == NOON + timedelta(seconds=10)
    assert not breaker_permit(breaker, NOON + timedelta(seconds=9)).allowed
    permit = breaker_permit(breaker, NOON + timedelta(seconds=10))
    assert permit.allowed and permit.trial
    breaker = breaker_failure(breaker, NOON + timedelta(seconds=10), policy, trial=True)
    assert breaker.retry_at == NOON + timedelta(seconds=30)  # the wait doubled
    breaker = breaker_failure(breaker, NOON + timedelta(seconds=30), policy, trial=True)
    breaker = breaker_failure(breaker, NOON + timedelta(seconds=70), policy, trial=True)
    assert breaker.cooldown_seconds == 40  # capped
    assert breaker_success(breaker) == Breaker()


def test_quick_trials_keep_the_first_cooldown_then_it_doubles():
    # A link down for a fraction of a second: retried every 0.1 s until it is back, not 0.2, 0.4, 0.8 s later.
    policy = BreakerPolicy(failures_to_open=3, cooldown_seconds=0.1, cooldown_cap_seconds=2.0, quick_trials=3)
    breaker = Breaker()
    for _ in range(3):
        breaker = breaker_failure(breaker, NOON, policy, trial=False)
    waits = []
    for _ in range(8):
        breaker = breaker_failure(breaker, NOON, policy, trial=True)
        waits.append(round(breaker.cooldown_seconds, 3))
    assert waits == [0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
    assert breaker_success(breaker) == Breaker()  # the next outage starts quick again


def test_a_recovery_lets_the_trial_through_at_once():
    breaker = Breaker(OPEN, 5, NOON + timedelta(minutes=5), 300)
    assert breaker_permit(breaker_recovered(breaker, NOON), NOON) == rules.Permit(True, trial=True)
    assert breaker_recovered(Breaker(), NOON) == Breaker()


@pytest.mark.parametrize(("result", "state"), [
    ({"key": "k", "status": "created", "id": "F1"}, ACKED),
    ({"key": "k", "status": "duplicate", "id": "F1"}, ACKED),
    ({"key": "k", "status": "in_progress"}, PENDING),
    ({"key": "k", "status": "conflict", "problem": {"type": "active_row_exists", "existing_id": "F9"}}, CONFLICT),
    ({"key": "k", "status": "key_reused", "problem": {"type": "key_reused"}}, DEAD),
    ({"key": "k", "status": "invalid", "problem": {"type": "invalid_field", "detail": "artikel saknas"}}, DEAD),
])
def test_each_server_answer_moves_the_item(result, state):
    outcome = outcome_of(result)
    assert outcome.state == state
    assert (outcome.server_id == "F1") is (state == ACKED)
    assert outcome.retry_soon is (result["status"] == "in_progress")


def test_answers_outside_the_contract_are_protocol_errors():
    with pytest.raises(ProtocolError):
        outcome_of({"key": "k", "status": "created"})  # no id
    with pytest.raises(ProtocolError):
        outcome_of({"key": "k", "status": "maybe"})
    with pytest.raises(ProtocolError):
        check_results(["a", "b"], {"results": [{"key": "a"}]})
    with pytest.raises(ProtocolError):
        check_results(["a", "b"], {"results": [{"key": "b"}, {"key": "a"}]})
    assert check_results(["a"], {"results": [{"key": "a", "status": "created", "id": "1"}]})


def test_progress_counts_rate_and_time_left():
    state = progress({PENDING: 900, IN_FLIGHT: 100, ACKED: 4000, CONFLICT: 2, REVIEW: 3}, registered_lately=3000,
                     window_seconds=60)
    assert state.remaining == 1000 and state.waiting_for_people == 5 and state.done == 4000
    assert state.rate_per_second == 50 and state.seconds_left == 20
    assert progress({}, 0, 60).seconds_left == 0 and progress({PENDING: 5}, 0, 60).seconds_left is None


def test_a_capture_is_registered_resolved_cancelled_or_outstanding_by_where_its_chain_ends():
    assert chain_outcome([ChainLink("a", ACKED, "F1", False)]) == ("registered", None)
    assert chain_outcome([ChainLink("a", RESOLVED, "F1", True)]) == ("resolved", None)
    sent_anew = [ChainLink("a", RESOLVED, None, True), ChainLink("b", ACKED, "F2", False)]
    assert chain_outcome(sent_anew) == ("resolved", None)
    edited = [ChainLink("a", CANCELLED, None, False), ChainLink("b", ACKED, "F3", False)]
    assert chain_outcome(edited) == ("registered", None)
    assert chain_outcome([ChainLink("a", CANCELLED, None, False)]) == ("cancelled", None)
    assert chain_outcome([ChainLink("a", CONFLICT, None, False)])[0] == "outstanding"
    assert chain_outcome([ChainLink("a", PENDING, None, False)]) == ("outstanding", "Väntar på att skickas")


def test_the_balance_holds_only_when_nothing_is_outstanding():
    ok = balance(["registered"] * 5 + ["resolved", "cancelled"])
    assert (ok.captured, ok.registered, ok.resolved, ok.cancelled, ok.balanced) == (7, 5, 1, 1, True)
    assert not balance(["registered", "outstanding"]).balanced


def test_only_resolutions_that_can_help_are_offered():
    problem = {"type": "active_row_exists", "existing_id": "F1", "rows": [{"id": "F1-1"}]}
    assert resolutions_for("prescription", problem, "F1") == ("link", "cancel_local", "send_as_new")
    assert resend_changes("prescription", problem) == {"replaces": ["F1-1"]}
    assert resend_changes("order", {"type": "number_taken"}) == {"form_number": None}
    assert resolutions_for("withdrawal", {"type": "no_withdrawals_left"}, "F1") == ("link", "cancel_local")
    assert resolutions_for("prescription_cancel", {"type": "unknown_record"}, None) == ("cancel_local",)
