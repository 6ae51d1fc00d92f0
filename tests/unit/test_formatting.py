"""Swedish numbers, money and percentages come from one formatter built on Babel (sv_SE)."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from core.formatting import money, number, percent

NBSP = "\u00a0"


def test_money_has_a_decimal_comma_grouped_thousands_and_never_wraps() -> None:
    assert money(Decimal("81.5")) == f"81,50{NBSP}kr"
    assert money(2580) == f"2{NBSP}580,00{NBSP}kr"
    assert money(Decimal("0.005")) == f"0,01{NBSP}kr"  # half up to whole öre
    assert " " not in money(1234567)  # only non-breaking spaces


def test_quantities_drop_trailing_zeros_and_group_thousands() -> None:
    assert number(Fraction(7, 2), 1) == "3,5"
    assert number(Decimal("3.0"), 1) == "3"
    assert number(12000) == f"12{NBSP}000"


def test_percentages_have_two_decimals_and_a_space_before_the_sign() -> None:
    assert percent(Decimal("0.9236")) == f"92,36{NBSP}%"
    assert percent(1) == f"100,00{NBSP}%"
