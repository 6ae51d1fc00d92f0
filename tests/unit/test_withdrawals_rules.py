"""The pure rules of withdrawals and order types: no app, no database."""
from __future__ import annotations

from datetime import date

import pytest

from core.errors import ValidationFailed
from app.withdrawals.rules import (
    Channel, OrderShape, OrderType, RowAllowance, WarehouseRef, WithdrawalStatus, can_move, format_u_number,
    needs_outbound_delivery, order_problems, packages_problem, parse_u_number, refused_transition_message,
    u_number_range, ui_channel,
)
from app.withdrawals.search import local_day_start_utc, parse_withdrawal_criteria

CENTRAL = WarehouseRef(10, "central", None)
ESLOV = WarehouseRef(101, "municipal", unit_id=7)
HOOR = WarehouseRef(102, "municipal", unit_id=8)


def test_packages_left_is_withdrawals_left_times_packages_per_withdrawal():
    row = RowAllowance(packages_per_withdrawal=3, withdrawals=4, withdrawals_used=1)
    assert row.withdrawals_left == 3 and row.packages_left == 9


@pytest.mark.parametrize(("packages", "allowed"), [(1, True), (3, True), (4, False), (0, False)])
def test_one_withdrawal_takes_at_most_the_rows_packages_per_withdrawal(packages, allowed):
    row = RowAllowance(packages_per_withdrawal=3, withdrawals=4, withdrawals_used=0)
    assert (packages_problem(row, packages) is None) is allowed


def test_a_row_without_withdrawals_left_allows_nothing():
    used_up = RowAllowance(packages_per_withdrawal=3, withdrawals=2, withdrawals_used=2)
    assert packages_problem(used_up, 1) == "Raden har inga uttag kvar."


def test_the_message_for_too_many_packages_says_what_is_left():
    message = packages_problem(RowAllowance(2, 4, 3), 5)
    assert "Högst 2 förpackningar per uttag" in message and "1 uttag kvar" in message


def test_status_moves_new_to_sent_to_delivered_or_new_to_aborted_only():
    new, sent, delivered, aborted = WithdrawalStatus
    assert can_move(new, sent) and can_move(sent, delivered) and can_move(new, aborted)
    assert not can_move(sent, aborted) and not can_move(new, delivered) and not can_move(delivered, aborted)
    assert not can_move(aborted, sent)
    assert "kan inte avbrytas" in refused_transition_message(sent, aborted)
    assert [s.label for s in WithdrawalStatus] == ["Ny", "Skickad", "Levererad", "Avbruten"]


@pytest.mark.parametrize("text", ["U194600976", "u194600976", " 194600976 "])
def test_u_number_is_u_and_nine_digits_the_u_optional(text):
    assert parse_u_number(text) == 194600976
    assert format_u_number(194600976) == "U194600976"


@pytest.mark.parametrize("text", ["U19460097", "U1946009761", "X194600976", "", "U-194600976"])
def test_malformed_u_numbers_are_refused(text):
    with pytest.raises(ValueError):
        parse_u_number(text)


def test_a_u_number_prefix_is_a_range_of_numbers():
    assert u_number_range("U2012") == (201_200_000, 201_300_000)
    assert u_number_range("201200001") == (201_200_001, 201_200_002)


def test_ui_channel_follows_the_role():
    assert ui_channel({"customer_service"}) is Channel.CUSTOMER_SERVICE
    assert ui_channel({"prescriber"}) is Channel.PRESCRIBER


def test_an_order_to_a_care_unit_may_come_from_warehouse_10_or_the_units_own_stock():
    assert order_problems(OrderShape(OrderType.ORDER, CENTRAL, unit_id=7)) == []
    assert order_problems(OrderShape(OrderType.ORDER, ESLOV, unit_id=7)) == []
    assert [f for f, _ in order_problems(OrderShape(OrderType.ORDER, HOOR, unit_id=7))] == ["from_warehouse"]


def test_an_order_typed_as_bestallning_never_goes_to_a_patient():
    problems = order_problems(OrderShape(OrderType.ORDER, CENTRAL, unit_id=7, patient_id=3))
    assert problems[0][0] == "patient_id" and "aldrig till en patient" in problems[0][1]


def test_prescription_comes_from_warehouse_10_and_direct_prescription_from_own_stock():
    assert order_problems(OrderShape(OrderType.PRESCRIPTION, CENTRAL, unit_id=7, patient_id=3)) == []
    assert order_problems(OrderShape(OrderType.DIRECT_PRESCRIPTION, ESLOV, unit_id=7, patient_id=3)) == []
    assert [f for f, _ in order_problems(OrderShape(OrderType.PRESCRIPTION, ESLOV, unit_id=7, patient_id=3))] == [
        "from_warehouse"]
    assert [f for f, _ in order_problems(OrderShape(OrderType.DIRECT_PRESCRIPTION, CENTRAL, unit_id=7,
                                                    patient_id=3))] == ["from_warehouse"]
    assert [f for f, _ in order_problems(OrderShape(OrderType.PRESCRIPTION, CENTRAL, unit_id=7))] == ["patient_id"]


def test_a_stock_move_for_a_municipality_always_leaves_warehouse_10():
    assert order_problems(OrderShape(OrderType.STOCK_MOVE, CENTRAL, receiver=ESLOV)) == []
    problems = order_problems(OrderShape(OrderType.STOCK_MOVE, HOOR, receiver=ESLOV))
    assert problems == [("from_warehouse", "För kommuner sker lagerflytten alltid från lager 10 (HMS).")]
    assert [f for f, _ in order_problems(OrderShape(OrderType.STOCK_MOVE, CENTRAL, receiver=CENTRAL))] == [
        "to_warehouse"]


def test_only_orders_from_own_stock_need_an_outbound_delivery():
    assert needs_outbound_delivery(OrderType.ORDER, ESLOV)
    assert needs_outbound_delivery(OrderType.DIRECT_PRESCRIPTION, ESLOV)
    assert not needs_outbound_delivery(OrderType.ORDER, CENTRAL)
    assert not needs_outbound_delivery(OrderType.PRESCRIPTION, CENTRAL)
    assert not needs_outbound_delivery(OrderType.STOCK_MOVE, CENTRAL)


def test_criteria_parse_every_field_and_name_each_bad_one():
    criteria = parse_withdrawal_criteria({"q": "U1000", "patient": "195001010015", "unit": "4", "status": "sent",
                                          "from": "2026-11-01", "to": "2026-11-21"}, today=date(2026, 11, 21))
    assert criteria.number_range == (100_000_000, 100_100_000) and criteria.unit_id == 4
    assert criteria.status is WithdrawalStatus.SENT and criteria.date_to == date(2026, 11, 21)
    with pytest.raises(ValidationFailed) as caught:
        parse_withdrawal_criteria({"q": "X1", "patient": "19500101", "unit": "abc", "status": "lost",
                                   "from": "2026-13-01", "to": "21/11"})
    assert [e.field for e in caught.value.errors] == ["q", "patient", "unit", "status", "from", "to"]


def test_a_date_range_ending_before_it_starts_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        parse_withdrawal_criteria({"from": "2026-11-21", "to": "2026-11-01"})
    assert caught.value.errors[0].field == "to"


def test_a_swedish_day_starts_at_its_local_midnight_in_utc():
    assert local_day_start_utc(date(2026, 11, 21)).isoformat() == "2026-11-20T23:00:00"  # CET, UTC+1
    assert local_day_start_utc(date(2026, 7, 1)).isoformat() == "2026-06-30T22:00:00"  # CEST, UTC+2
