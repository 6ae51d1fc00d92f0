from datetime import date

import pytest

from core.privacy.personnummer import (
    InvalidPersonnummer, birth_date, check_digit, is_coordination_number, validate_personnummer,
)

TODAY = date(2026, 11, 21)


@pytest.mark.parametrize("value", ["191212121212", "197001631238", " 191212121212 "])
def test_valid_personnummer_and_samordningsnummer_pass(value):
    assert validate_personnummer(value, TODAY) == value.strip()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("19121212-1212", "12 siffror"),
        ("1212121212", "12 siffror"),
        ("19121212121a", "12 siffror"),
        ("191212121213", "kontrollsiffra"),
        ("190002291235", "datum"),  # 1900 was no leap year
        ("197013011234", "datum"),
        ("209912310000", "framtiden"),
    ],
)
def test_invalid_values_are_refused_with_the_reason(value, reason):
    with pytest.raises(InvalidPersonnummer, match=reason):
        validate_personnummer(value, TODAY)


def test_check_digit_is_luhn_over_the_ten_digit_form():
    assert check_digit("121212121") == 2
    assert check_digit("811218987") == 6


def test_samordningsnummer_birth_date_drops_the_sixty_days():
    assert is_coordination_number("197001631238")
    assert birth_date("197001631238") == date(1970, 1, 3)
