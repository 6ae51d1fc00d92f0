"""Quantity calculation ("Beräkna antal") and prescription validity: pure, no app, no database."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from app.prescribing.quantity import (
    QuantityError, calculate_from_packages, calculate_from_pieces_per_day, is_expired, parse_quantity,
    period_for_withdrawals, prescription_expires_on, round_half_up,
)

# Seed: "Ex. fyra uttag ger en förbrukningsperiod på 90 dagar / två uttag ger en
# förbrukningsperiod på 180 dagar / ett uttag ger en förbrukningsperiod på 365 dagar".
# 3, 6 and 12 come from SPEC.md section 3.
@pytest.mark.parametrize(
    ("withdrawals", "period_days"),
    [(1, 365), (2, 180), (3, 120), (4, 90), (6, 60), (12, 30)],
)
def test_withdrawals_give_the_default_consumption_period(withdrawals: int, period_days: int) -> None:
    assert period_for_withdrawals(withdrawals) == period_days


@pytest.mark.parametrize("withdrawals", [5, 7, 8, 9, 10, 11, 24, 52])
def test_withdrawals_without_a_whole_month_split_have_no_default_period(withdrawals: int) -> None:
    with pytest.raises(QuantityError) as error:
        period_for_withdrawals(withdrawals)
    assert error.value.field == "withdrawals"
    assert "ange förbrukningsperiod" in str(error.value)


def test_an_explicit_period_is_accepted_for_any_withdrawal_count() -> None:
    result = calculate_from_pieces_per_day(2, 10, withdrawals=5, period_days=73)
    assert (result.period_days, result.packages_per_withdrawal, result.total_packages) == (73, 15, 75)


@pytest.mark.parametrize(
    ("pieces_per_day", "package_size", "withdrawals", "packages", "pieces"),
    [
        (2, 10, 4, 18, 180),  # 2 × 90 = 180 pieces, exactly 18 packages
        (3, 30, 1, 37, 1110),  # 3 × 365 = 1095 / 30 = 36.5 → 37 (half up)
        (1, 40, 4, 2, 80),  # 90 / 40 = 2.25 → 2 (rounds down: may run out a little early)
        (2, 7, 4, 26, 182),  # 180 / 7 = 25.71 → 26 (rounds up)
        (1, 20, 4, 5, 100),  # 90 / 20 = 4.5 → 5; banker's round() would give 4
        (1, 12, 12, 3, 36),  # 30 / 12 = 2.5 → 3; banker's round() would give 2
        (6, 28, 2, 39, 1092),  # 6 × 180 = 1080 / 28 = 38.57 → 39
    ],
)
def test_pieces_per_day_round_to_the_nearest_whole_package(
    pieces_per_day: int, package_size: int, withdrawals: int, packages: int, pieces: int
) -> None:
    # Seed: "Avrundning sker till närmsta förpackningsstorlek vilket innebär att förskrivningen
    # kan räcka något längre eller kortare tid än angivna dagar i förbrukningsperioden."
    result = calculate_from_pieces_per_day(pieces_per_day, package_size, withdrawals)
    assert result.packages_per_withdrawal == packages
    assert result.pieces_per_withdrawal == pieces
    assert result.total_packages == packages * withdrawals
    assert result.pieces_per_day == pieces_per_day


@pytest.mark.parametrize(
    ("pieces_per_day", "expected_packages"),
    [
        ("0,5", 5),  # Swedish decimal comma: 0.5 × 90 = 45 / 10 = 4.5 → 5
        ("0.5", 5),
        ("1/2", 5),  # one every other day
        (Fraction(1, 2), 5),
        (Decimal("0.5"), 5),
        (Decimal("1.1"), 10),  # 99 / 10 = 9.9 → 10; a float would give 98.99999…
        ("2,25", 20),  # 202.5 / 10 = 20.25 → 20
    ],
)
def test_fractional_pieces_per_day_are_exact(pieces_per_day: object, expected_packages: int) -> None:
    result = calculate_from_pieces_per_day(pieces_per_day, 10, withdrawals=4)  # type: ignore[arg-type]
    assert result.packages_per_withdrawal == expected_packages


def test_a_small_daily_use_still_gets_one_package() -> None:
    # 0.01 a day × 30 days = 0.3 pieces, a hundredth of a package: never zero packages.
    result = calculate_from_pieces_per_day("0,01", 100, withdrawals=12)
    assert result.packages_per_withdrawal == 1
    assert result.pieces_per_withdrawal == 100


def test_rounding_tells_how_long_a_withdrawal_really_lasts() -> None:
    result = calculate_from_pieces_per_day(2, 7, withdrawals=4)  # 26 packages = 182 pieces
    assert result.days_covered == 91
    assert result.effective_pieces_per_day == Fraction(182, 90)


def test_packages_per_withdrawal_give_pieces_per_day_as_in_the_manual() -> None:
    # Seed: "Tillexempel 37 förpackningar per uttag innebär att patienten kan använda två
    # produkter per dag under 90 dagar." The manual names no package size; with 5 pieces a
    # package 37 packages are 185 pieces, 2.06 a day, which is two a day to the nearest piece.
    result = calculate_from_packages(37, 5, withdrawals=4)
    assert result.period_days == 90
    assert result.pieces_per_day == Fraction(185, 90)
    assert result.rounded_pieces_per_day(0) == Decimal("2")
    assert result.rounded_pieces_per_day() == Decimal("2.1")


@pytest.mark.parametrize(
    ("packages", "package_size", "withdrawals", "period_days", "pieces_per_day"),
    [
        (18, 10, 4, None, Fraction(2)),
        (5, 10, 4, None, Fraction(50, 90)),
        (1, 30, 12, None, Fraction(1)),
        (12, 30, 1, None, Fraction(360, 365)),
        (3, 10, 2, 60, Fraction(1, 2)),
    ],
)
def test_reverse_calculation_gives_exact_pieces_per_day(
    packages: int, package_size: int, withdrawals: int, period_days: int | None, pieces_per_day: Fraction
) -> None:
    result = calculate_from_packages(packages, package_size, withdrawals, period_days)
    assert result.pieces_per_day == pieces_per_day
    assert result.pieces_per_withdrawal == packages * package_size
    assert result.total_packages == packages * withdrawals


def test_forward_then_reverse_returns_the_daily_use_the_packages_cover() -> None:
    forward = calculate_from_pieces_per_day(2, 7, withdrawals=4)
    reverse = calculate_from_packages(forward.packages_per_withdrawal, 7, withdrawals=4)
    assert reverse.pieces_per_day == forward.effective_pieces_per_day


def test_rounded_pieces_per_day_rounds_half_up() -> None:
    result = calculate_from_packages(1, 1, withdrawals=1, period_days=8)  # 0.125 a day
    assert result.rounded_pieces_per_day(2) == Decimal("0.13")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: calculate_from_pieces_per_day(2, 0, 4), "package_size"),
        (lambda: calculate_from_pieces_per_day(2, -10, 4), "package_size"),
        (lambda: calculate_from_pieces_per_day(2, 10_001, 4), "package_size"),
        (lambda: calculate_from_pieces_per_day(2, "10", 4), "package_size"),
        (lambda: calculate_from_pieces_per_day(0, 10, 4), "pieces_per_day"),
        (lambda: calculate_from_pieces_per_day(-1, 10, 4), "pieces_per_day"),
        (lambda: calculate_from_pieces_per_day("-0,5", 10, 4), "pieces_per_day"),
        (lambda: calculate_from_pieces_per_day(0.5, 10, 4), "pieces_per_day"),  # float: not exact
        (lambda: calculate_from_pieces_per_day(True, 10, 4), "pieces_per_day"),
        (lambda: calculate_from_pieces_per_day("två", 10, 4), "pieces_per_day"),
        (lambda: calculate_from_pieces_per_day("1/0", 10, 4), "pieces_per_day"),
        (lambda: calculate_from_pieces_per_day(Decimal("NaN"), 10, 4), "pieces_per_day"),
        (lambda: calculate_from_pieces_per_day(1001, 10, 4), "pieces_per_day"),
        (lambda: calculate_from_pieces_per_day(2, 10, 0), "withdrawals"),
        (lambda: calculate_from_pieces_per_day(2, 10, -4), "withdrawals"),
        (lambda: calculate_from_pieces_per_day(2, 10, 53, period_days=1), "withdrawals"),
        (lambda: calculate_from_pieces_per_day(2, 10, 4, period_days=0), "period_days"),
        (lambda: calculate_from_pieces_per_day(2, 10, 1, period_days=366), "period_days"),
        (lambda: calculate_from_pieces_per_day(2, 10, 4, period_days=120), "period_days"),  # 480 days > a year
        (lambda: calculate_from_packages(0, 10, 4), "packages_per_withdrawal"),
        (lambda: calculate_from_packages(-3, 10, 4), "packages_per_withdrawal"),
        (lambda: calculate_from_packages(10_000, 10, 4), "packages_per_withdrawal"),
        (lambda: calculate_from_packages(3, 0, 4), "package_size"),
        (lambda: calculate_from_packages(3, 10, 5), "withdrawals"),
    ],
)
def test_invalid_input_is_refused_naming_the_field(call: object, field: str) -> None:
    with pytest.raises(QuantityError) as error:
        call()  # type: ignore[operator]
    assert error.value.field == field
    assert isinstance(error.value, ValueError)
    assert str(error.value)  # a Swedish sentence for the form


def test_error_messages_are_swedish() -> None:
    with pytest.raises(QuantityError, match="Förpackningsstorlek måste vara minst 1"):
        calculate_from_pieces_per_day(2, 0, 4)


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", Fraction(3)), (" 1,5 ", Fraction(3, 2)), ("1 000", Fraction(1000)), ("2/3", Fraction(2, 3))],
)
def test_quantities_parse_from_form_text(text: str, value: Fraction) -> None:
    assert parse_quantity("pieces_per_day", text) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Fraction(5, 2), 3), (Fraction(7, 2), 4), (Fraction(9, 4), 2), (Fraction(11, 4), 3), (Fraction(1, 2), 1)],
)
def test_round_half_up_never_rounds_halves_to_even(value: Fraction, expected: int) -> None:
    assert round_half_up(value) == expected


# Seed: "En förskrivning är giltig i ett år från förskrivningsdatum." The last valid day is
# the same date a year later; 29 February falls back to 28 February.
@pytest.mark.parametrize(
    ("prescribed_on", "last_valid_day"),
    [
        (date(2025, 3, 14), date(2026, 3, 14)),
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2023, 2, 28), date(2024, 2, 28)),
        (date(2023, 3, 1), date(2024, 3, 1)),
        (date(2024, 12, 31), date(2025, 12, 31)),
        (date(2025, 1, 1), date(2026, 1, 1)),
    ],
)
def test_prescription_is_valid_through_the_same_date_next_year(prescribed_on: date, last_valid_day: date) -> None:
    assert prescription_expires_on(prescribed_on) == last_valid_day


@pytest.mark.parametrize(
    ("prescribed_on", "today", "expired"),
    [
        (date(2025, 3, 14), date(2025, 3, 14), False),  # the day it is written
        (date(2025, 3, 14), date(2026, 3, 13), False),
        (date(2025, 3, 14), date(2026, 3, 14), False),  # last valid day
        (date(2025, 3, 14), date(2026, 3, 15), True),  # the day it flips to Utgått
        (date(2024, 2, 29), date(2025, 2, 28), False),
        (date(2024, 2, 29), date(2025, 3, 1), True),
    ],
)
def test_prescription_expires_the_day_after_its_last_valid_day(prescribed_on: date, today: date, expired: bool) -> None:
    assert is_expired(prescribed_on, today) is expired
