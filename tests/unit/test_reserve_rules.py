"""The reserve routine's rules as plain functions: no app, no store."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from reserve.rules import (
    DONE, DUE, NOT_APPLICABLE, ONGOING, OVERDUE, PRIORITY, WAITING, CaptureInput, Comparable, check_shape,
    email_personal_data_errors, format_reserve_number, parse_reserve_number, possible_duplicate, step_state,
)

NOW = datetime(2026, 11, 2, 12, 0)
PERSONNUMMER = "194103149806"


def fields(errors) -> list[str]:  # noqa: ANN001
    return [e.field for e in errors]


def test_an_emailed_stock_move_without_personal_data_is_fine():
    item = CaptureInput("stock_move", "email", unit="420107", article="200101", packages=20)
    assert check_shape(item) == []


def test_an_emailed_item_naming_a_patient_is_refused_with_a_message_to_phone_it_in():
    item = CaptureInput("order", "email", patient=PERSONNUMMER, unit="420107", article="200101", packages=2)
    (error,) = email_personal_data_errors(item)
    assert error.field == "patient" and "ringa in" in error.message
    assert fields(check_shape(item)) == ["patient"]


def test_an_emailed_note_with_a_personnummer_is_refused():
    for written in ("194103149805", "19410314-9805", "410314-9805", "410314 9805", "1941.03.14–9805"):
        item = CaptureInput("work_order", "email", responsible_prescriber="anna", work_order_type="repair",
                            note=f"Rullator till {written}, bromsen trasig")
        assert fields(check_shape(item)) == ["note"], written


def test_an_emailed_note_with_an_order_or_phone_number_is_fine():
    for written in ("410314-9806", "order 4103149806", "010-473 80 80", "2026-12-07 14.30"):
        item = CaptureInput("work_order", "email", responsible_prescriber="anna", work_order_type="repair",
                            note=f"Rullator, {written}, bromsen trasig")
        assert check_shape(item) == [], written


def test_an_emailed_prescription_is_refused_because_it_always_concerns_a_patient():
    item = CaptureInput("prescription", "email", unit="410215", article="200101", packages=2,
                        responsible_prescriber="anna")
    (error,) = check_shape(item)
    assert error.field == "channel" and "ringa in" in error.message


def test_the_same_item_by_phone_is_fine():
    assert check_shape(CaptureInput("prescription", "phone", patient=PERSONNUMMER, unit="410215", article="200101",
                                    packages=2, responsible_prescriber="anna")) == []


@pytest.mark.parametrize("packages", [0, -1, 1000, 10_000])
def test_insane_quantities_are_refused(packages):
    item = CaptureInput("stock_move", "phone", unit="420107", article="200101", packages=packages)
    assert fields(check_shape(item)) == ["packages"]


def test_each_kind_names_the_fields_it_misses_and_those_it_does_not_take():
    assert fields(check_shape(CaptureInput("prescription", "phone"))) == [
        "patient", "unit", "article", "packages", "responsible_prescriber"]
    assert fields(check_shape(CaptureInput("work_order", "paper"))) == [
        "responsible_prescriber", "work_order_type", "note"]
    assert fields(check_shape(CaptureInput("stock_move", "phone", patient=PERSONNUMMER, unit="1", article="2",
                                           packages=1, work_order_type="repair"))) == ["patient", "work_order_type"]
    assert fields(check_shape(CaptureInput("work_order", "phone", responsible_prescriber="anna",
                                           work_order_type="painting", note="x"))) == ["work_order_type"]
    assert fields(check_shape(CaptureInput("lunch", "phone"))) == ["kind"]
    assert fields(check_shape(CaptureInput("order", "fax", unit="1", article="2", packages=1))) == ["channel"]


def test_a_preprinted_number_belongs_to_paper_and_has_eight_digits():
    base = {"kind": "order", "unit": "1", "article": "2", "packages": 1}
    assert fields(check_shape(CaptureInput(channel="phone", reserve_number="R10000001", **base))) == ["reserve_number"]
    assert fields(check_shape(CaptureInput(channel="paper", reserve_number="R123", **base))) == ["reserve_number"]
    assert check_shape(CaptureInput(channel="paper", reserve_number="r10000001", **base)) == []


def test_reserve_numbers_print_as_r_and_eight_digits():
    assert format_reserve_number(10_000_001) == "R10000001"
    assert parse_reserve_number("R10000001") == parse_reserve_number(" 10000001 ") == 10_000_001
    assert parse_reserve_number("U100000001") is None


def test_stock_moves_come_first_then_orders_prescriptions_and_work_orders():
    assert sorted(PRIORITY, key=PRIORITY.get) == ["stock_move", "order", "prescription", "work_order"]


def c(id_: int, kind: str = "order", patient: int | None = None, unit: int | None = 1, article: int | None = 7):
    return Comparable(id_, kind, patient, unit, article)


def test_same_patient_and_article_is_a_possible_duplicate_whatever_the_unit():
    first = c(1, "prescription", patient=5, unit=1)
    assert possible_duplicate(c(2, "prescription", patient=5, unit=2), [first]) == first


def test_same_unit_and_article_without_patient_is_a_possible_duplicate():
    first = c(1, "order")
    assert possible_duplicate(c(2, "stock_move"), [first]) == first


def test_other_patients_units_or_articles_are_not_duplicates():
    earlier = [c(1, "prescription", patient=5), c(2, "order", unit=3), c(3, "order", article=8)]
    assert possible_duplicate(c(4, "prescription", patient=6), earlier) is None
    assert possible_duplicate(c(5, "order", unit=1), earlier) is None
    assert possible_duplicate(c(6, "work_order", article=None), earlier) is None


def test_step_states_highlight_what_is_late():
    due = NOW - timedelta(minutes=1)
    assert step_state(done_at=NOW, not_applicable=False, due_at=due, now=NOW) == DONE
    assert step_state(done_at=None, not_applicable=True, due_at=due, now=NOW) == NOT_APPLICABLE
    assert step_state(done_at=None, not_applicable=False, due_at=due, now=NOW) == OVERDUE
    assert step_state(done_at=None, not_applicable=False, due_at=NOW, now=NOW) == DUE
    assert step_state(done_at=None, not_applicable=False, due_at=None, now=NOW) == ONGOING
    assert step_state(done_at=None, not_applicable=False, due_at=due, now=NOW, waits_for_prognosis=True) == WAITING


def test_control_characters_are_refused_naming_the_field_and_only_the_note_may_break_lines():
    item = CaptureInput("work_order", "phone", responsible_prescriber="anna\n", work_order_type="repair",
                        note="Bromsen\x1b[31m trasig")
    assert fields(check_shape(item)) == ["responsible_prescriber", "note"]
    item = CaptureInput("work_order", "phone", responsible_prescriber="anna", work_order_type="repair",
                        note="Bromsen trasig.\n\tHämtas i dag.")
    assert check_shape(item) == []
