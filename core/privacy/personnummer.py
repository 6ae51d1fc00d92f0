"""Swedish personnummer and samordningsnummer in the form ÅÅÅÅMMDDXXXX; plain functions."""
from __future__ import annotations

import re
from datetime import date

from personnummer import personnummer as _lib

TWELVE_DIGITS = re.compile(r"\d{12}")
COORDINATION_DAY_OFFSET = 60  # samordningsnummer: day of birth + 60


class InvalidPersonnummer(ValueError):
    """The value is not a valid personnummer; the message says why, in Swedish."""


def check_digit(nine_digits: str) -> int:
    """Return the Luhn check digit over YYMMDDNNN."""
    total = 0
    for index, char in enumerate(nine_digits):
        value = int(char) * (2 - index % 2)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def birth_date(personnummer: str) -> date:
    """Return the date of birth, undoing the samordningsnummer day offset."""
    day = int(personnummer[6:8])
    if day > COORDINATION_DAY_OFFSET:
        day -= COORDINATION_DAY_OFFSET
    return date(int(personnummer[:4]), int(personnummer[4:6]), day)


def is_coordination_number(personnummer: str) -> bool:
    return int(personnummer[6:8]) > COORDINATION_DAY_OFFSET


def validate_personnummer(value: str, today: date | None = None) -> str:
    """Return the personnummer if it is 12 digits with a valid date and check digit, else raise."""
    candidate = value.strip()
    if not TWELVE_DIGITS.fullmatch(candidate):
        raise InvalidPersonnummer("Ange personnummer med 12 siffror, ÅÅÅÅMMDDXXXX, utan bindestreck.")
    try:
        born = birth_date(candidate)
    except ValueError:
        raise InvalidPersonnummer("Personnumret innehåller inget giltigt datum.") from None
    if born > (today or date.today()):
        raise InvalidPersonnummer("Personnumrets födelsedatum ligger i framtiden.")
    if not _lib.valid(candidate) or check_digit(candidate[2:11]) != int(candidate[11]):
        raise InvalidPersonnummer("Personnumrets kontrollsiffra stämmer inte.")
    return candidate


def is_valid_personnummer(value: str) -> bool:
    try:
        validate_personnummer(value)
    except InvalidPersonnummer:
        return False
    return True
