"""Quantity calculation ("Beräkna antal") and the one-year validity of a prescription.

The manual: a prescription is valid one year from its date; the number of withdrawals
gives the consumption period per withdrawal (four → 90 days, two → 180, one → 365);
pieces per day × period, rounded to the nearest whole package, gives packages and
pieces per withdrawal; the reverse turns packages per withdrawal into pieces per day.
Quantities are exact (Fraction), never float, so 0.5 a day over 90 days is 45, not 44.99….
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from app.prescribing.errors import InvalidInput

VALIDITY_YEARS = 1
DAYS_PER_YEAR = 365

# Default consumption period per withdrawal. 1, 2 and 4 are the manual's own examples;
# 3, 6 and 12 follow the same pattern (360 days of 30-day months, a single withdrawal
# covers the whole year). Other counts do not split a year into whole months, so they
# get no default: the prescriber states the period in days.
DEFAULT_PERIOD_DAYS: dict[int, int] = {1: 365, 2: 180, 3: 120, 4: 90, 6: 60, 12: 30}

# Bounds that catch typing mistakes without getting in the way of real prescriptions.
MAX_WITHDRAWALS = 52  # weekly withdrawals is the most frequent that makes sense
MAX_PIECES_PER_DAY = 1000
MAX_PACKAGE_SIZE = 10_000
MAX_PACKAGES_PER_WITHDRAWAL = 9_999

Quantity = int | Fraction | Decimal | str

_FRACTION_TEXT = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


class QuantityError(InvalidInput):
    """An input to the quantity calculation is invalid."""


@dataclass(frozen=True)
class QuantityResult:
    """What one row of a prescription amounts to, per withdrawal and in total."""

    period_days: int
    withdrawals: int
    package_size: int
    packages_per_withdrawal: int
    pieces_per_withdrawal: int
    pieces_per_day: Fraction
    total_packages: int

    @property
    def effective_pieces_per_day(self) -> Fraction:
        """Return the daily use one withdrawal actually covers after rounding to whole packages."""
        return Fraction(self.pieces_per_withdrawal, self.period_days)

    @property
    def days_covered(self) -> Fraction:
        """Return how long one withdrawal lasts at the stated daily use (the manual's "något längre eller kortare")."""
        return self.pieces_per_withdrawal / self.pieces_per_day

    def rounded_pieces_per_day(self, places: int = 1) -> Decimal:
        """Return pieces per day for display, rounded half up to `places` decimals."""
        return fraction_to_decimal(self.pieces_per_day, places)


def period_for_withdrawals(withdrawals: int) -> int:
    """Return the default consumption period in days for a number of withdrawals."""
    _check_int("withdrawals", withdrawals, 1, MAX_WITHDRAWALS, "Antal uttag")
    try:
        return DEFAULT_PERIOD_DAYS[withdrawals]
    except KeyError:
        raise QuantityError(
            "withdrawals",
            f"Det finns ingen förvald förbrukningsperiod för {withdrawals} uttag; "
            "ange förbrukningsperiod per uttag i dagar.",
        ) from None


def calculate_from_pieces_per_day(
    pieces_per_day: Quantity, package_size: int, withdrawals: int, period_days: int | None = None
) -> QuantityResult:
    """Return packages and pieces per withdrawal for a daily use, rounded to the nearest whole package."""
    per_day = parse_quantity("pieces_per_day", pieces_per_day)
    if per_day <= 0:
        raise QuantityError("pieces_per_day", "Förbrukning per dag måste vara större än 0.")
    if per_day > MAX_PIECES_PER_DAY:
        raise QuantityError("pieces_per_day", f"Förbrukning per dag får vara högst {MAX_PIECES_PER_DAY} st.")
    _check_int("package_size", package_size, 1, MAX_PACKAGE_SIZE, "Förpackningsstorlek")
    withdrawals, period = _withdrawals_and_period(withdrawals, period_days)
    # Never zero: a prescriber who asks for any daily use must get at least one package.
    packages = max(1, round_half_up(per_day * period / package_size))
    return _result(packages, package_size, withdrawals, period, per_day)


def calculate_from_packages(
    packages_per_withdrawal: int, package_size: int, withdrawals: int, period_days: int | None = None
) -> QuantityResult:
    """Return the daily use that packages per withdrawal allow over the consumption period."""
    _check_int(
        "packages_per_withdrawal", packages_per_withdrawal, 1, MAX_PACKAGES_PER_WITHDRAWAL,
        "Antal förpackningar per uttag",
    )
    _check_int("package_size", package_size, 1, MAX_PACKAGE_SIZE, "Förpackningsstorlek")
    withdrawals, period = _withdrawals_and_period(withdrawals, period_days)
    per_day = Fraction(packages_per_withdrawal * package_size, period)
    return _result(packages_per_withdrawal, package_size, withdrawals, period, per_day)


def prescription_expires_on(prescribed_on: date) -> date:
    """Return the last day the prescription is valid: the same date one year later.

    This is how Swedish law counts "one year from a day" (lag 1930:173 om beräkning av
    lagstadgad tid): the period ends on the day with the same number; when that day does
    not exist (29 February in a common year) it ends on the last day of the month.
    """
    try:
        return prescribed_on.replace(year=prescribed_on.year + VALIDITY_YEARS)
    except ValueError:  # 29 February → 28 February of the common year that follows
        return date(prescribed_on.year + VALIDITY_YEARS, 2, 28)


def is_expired(prescribed_on: date, today: date) -> bool:
    """Return True once `today` is past the prescription's last valid day (status Utgått)."""
    return today > prescription_expires_on(prescribed_on)


def parse_quantity(field: str, value: Quantity) -> Fraction:
    """Return an exact quantity from an int, Fraction, Decimal or text such as "0,5" or "1/2"."""
    if isinstance(value, bool) or isinstance(value, float):
        # A float has already lost exactness (0.1 is not 1/10); callers pass text or Decimal.
        raise QuantityError(field, "Antalet måste anges exakt, som heltal, decimaltal eller bråk.")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise QuantityError(field, "Antalet måste vara ett tal.")
        return Fraction(value)
    if isinstance(value, str):
        match = _FRACTION_TEXT.fullmatch(value)
        if match:
            numerator, denominator = int(match[1]), int(match[2])
            if denominator == 0:
                raise QuantityError(field, "Nämnaren i ett bråk kan inte vara 0.")
            return Fraction(numerator, denominator)
        try:
            number = Decimal(value.strip().replace(",", ".").replace("\u00a0", "").replace(" ", ""))
        except InvalidOperation:
            raise QuantityError(field, f"”{value}” är inte ett tal.") from None
        return parse_quantity(field, number)
    raise QuantityError(field, "Antalet måste vara ett tal.")


def round_half_up(value: Fraction) -> int:
    """Return the nearest integer, halves away from zero for positives (2.5 → 3, unlike round())."""
    return math.floor(value + Fraction(1, 2))


def fraction_to_decimal(value: Fraction, places: int) -> Decimal:
    """Return a Fraction as a Decimal rounded half up to `places` decimals."""
    exponent = Decimal(1).scaleb(-places)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(exponent, rounding=ROUND_HALF_UP)


def _withdrawals_and_period(withdrawals: int, period_days: int | None) -> tuple[int, int]:
    _check_int("withdrawals", withdrawals, 1, MAX_WITHDRAWALS, "Antal uttag")
    if period_days is None:
        return withdrawals, period_for_withdrawals(withdrawals)
    _check_int("period_days", period_days, 1, DAYS_PER_YEAR, "Förbrukningsperiod per uttag")
    if withdrawals * period_days > DAYS_PER_YEAR:
        # The prescription lapses after a year, so its withdrawals cannot supply more than that.
        raise QuantityError(
            "period_days",
            f"{withdrawals} uttag × {period_days} dagar är mer än ett år; "
            "en förskrivning gäller i ett år från förskrivningsdatum.",
        )
    return withdrawals, period_days


def _result(packages: int, package_size: int, withdrawals: int, period: int, per_day: Fraction) -> QuantityResult:
    return QuantityResult(
        period_days=period,
        withdrawals=withdrawals,
        package_size=package_size,
        packages_per_withdrawal=packages,
        pieces_per_withdrawal=packages * package_size,
        pieces_per_day=per_day,
        total_packages=packages * withdrawals,
    )


def _check_int(field: str, value: object, low: int, high: int, label: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise QuantityError(field, f"{label} måste vara ett heltal.")
    if value < low:
        raise QuantityError(field, f"{label} måste vara minst {low}.")
    if value > high:
        raise QuantityError(field, f"{label} får vara högst {high}.")
