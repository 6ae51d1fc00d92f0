"""Nutrition patient fee ("Patientavgift – Nutrition"): pure, no app, no database."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.formatting import money
from app.prescribing.fees import (
    FULL_NUTRITION, MONTHLY_CAP, FeeError, invoices_for_period, nutrition_patient_fee, split_evenly,
)

NBSP = "\u00a0"


# Seed: "30 dagars förskrivningsperiod – Maxbelopp ger 1 fakturor x 1 500 kronor/månad = 1 500 kronor
#        60 dagars förskrivningsperiod – Maxbelopp ger 2 fakturor x 1 500 kronor/månad = 3 000 kronor
#        90 dagars förskrivningsperiod – Maxbelopp ger 3 fakturor x 1 500 kronor/månad = 4 500 kronor"
@pytest.mark.parametrize(
    ("period_days", "invoices", "maximum"),
    [(30, 1, Decimal("1500.00")), (60, 2, Decimal("3000.00")), (90, 3, Decimal("4500.00"))],
)
def test_full_nutrition_is_capped_at_1500_a_month_as_in_the_manual(
    period_days: int, invoices: int, maximum: Decimal
) -> None:
    fee = nutrition_patient_fee(Decimal("9999.90"), period_days, FULL_NUTRITION, special_housing=False)
    assert fee.patient_pays == maximum
    assert fee.invoices == invoices
    assert fee.per_invoice == MONTHLY_CAP
    assert fee.invoice_amounts == (MONTHLY_CAP,) * invoices
    assert "överstiger maxbeloppet" in fee.rule_text_sv


def test_full_nutrition_below_the_cap_pays_the_actual_goods_value() -> None:
    # Seed: "Understiger det totala varuvärdet maxbeloppet faktureras patienten för det faktiska värdet."
    fee = nutrition_patient_fee(Decimal("3200.00"), 90, FULL_NUTRITION, special_housing=False)
    assert fee.patient_pays == Decimal("3200.00")
    assert fee.invoices == 3
    assert fee.invoice_amounts == (Decimal("1066.67"), Decimal("1066.67"), Decimal("1066.66"))
    assert sum(fee.invoice_amounts) == fee.patient_pays
    assert "understiger maxbeloppet" in fee.rule_text_sv


def test_full_nutrition_exactly_at_the_cap_pays_the_cap() -> None:
    fee = nutrition_patient_fee(Decimal("4500"), 90, FULL_NUTRITION, special_housing=False)
    assert fee.patient_pays == Decimal("4500.00")
    assert fee.per_invoice == Decimal("1500.00")


def test_no_invoice_exceeds_the_monthly_cap_when_öre_do_not_divide_evenly() -> None:
    fee = nutrition_patient_fee(Decimal("4499.99"), 90, FULL_NUTRITION, special_housing=False)
    assert sum(fee.invoice_amounts) == Decimal("4499.99")
    assert max(fee.invoice_amounts) <= MONTHLY_CAP


@pytest.mark.parametrize(
    ("period_days", "invoices"),
    [(1, 1), (14, 1), (30, 1), (44, 1), (45, 2), (60, 2), (90, 3), (120, 4), (180, 6), (365, 12)],
)
def test_invoices_are_the_period_in_whole_months_rounded_half_up(period_days: int, invoices: int) -> None:
    assert invoices_for_period(period_days) == invoices


def test_a_year_of_full_nutrition_is_capped_at_twelve_monthly_fees() -> None:
    fee = nutrition_patient_fee(Decimal("30000"), 365, FULL_NUTRITION, special_housing=False)
    assert (fee.invoices, fee.patient_pays) == (12, Decimal("18000.00"))


@pytest.mark.parametrize(
    ("goods_value", "patient_pays"),
    [
        (Decimal("812.40"), Decimal("406.20")),
        (Decimal("0.05"), Decimal("0.03")),  # 0.025 rounds half up to 3 öre, not to even
        (Decimal("100.01"), Decimal("50.01")),  # 50.005 → 50.01
        (Decimal("9999.99"), Decimal("5000.00")),  # no cap when the field is blank
        (Decimal("0"), Decimal("0.00")),
        (250, Decimal("125.00")),
    ],
)
def test_blank_category_pays_half_the_product_cost(goods_value: Decimal, patient_pays: Decimal) -> None:
    # Seed: "Är fältet tomt betalar patienten 50 % av produktkostnaden."
    fee = nutrition_patient_fee(goods_value, 90, None, special_housing=False)
    assert fee.patient_pays == patient_pays
    assert (fee.invoices, fee.per_invoice, fee.invoice_amounts) == (1, patient_pays, (patient_pays,))
    assert "50 %" in fee.rule_text_sv


def test_an_empty_category_string_counts_as_blank() -> None:
    assert nutrition_patient_fee(Decimal("100"), 30, "", False).patient_pays == Decimal("50.00")


@pytest.mark.parametrize("category", [None, "", FULL_NUTRITION])
def test_special_housing_residents_pay_nothing(category: str | None) -> None:
    # Seed: "För patienter som bor i kommunens särskilda boenden är detta fält betydelselöst
    # eftersom de inte behöver betala nutritionsprodukter."
    fee = nutrition_patient_fee(Decimal("5200.00"), 90, category, special_housing=True)
    assert fee.patient_pays == Decimal("0.00")
    assert (fee.invoices, fee.invoice_amounts) == (0, ())
    assert "Särskilt boende" in fee.rule_text_sv


def test_amounts_are_rounded_to_öre() -> None:
    fee = nutrition_patient_fee(Decimal("1234.565"), 90, FULL_NUTRITION, special_housing=False)
    assert fee.patient_pays == Decimal("1234.57")
    assert fee.patient_pays.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"goods_value": Decimal("-1")}, "goods_value"),
        ({"goods_value": 12.5}, "goods_value"),  # float money loses öre
        ({"goods_value": Decimal("Infinity")}, "goods_value"),
        ({"goods_value": Decimal("100000000")}, "goods_value"),
        ({"period_days": 0}, "period_days"),
        ({"period_days": 366}, "period_days"),
        ({"period_days": "90"}, "period_days"),
        ({"category": "helnutrition"}, "category"),  # the stored value is "full_nutrition"
    ],
)
def test_invalid_input_is_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "goods_value": Decimal("100"), "period_days": 90, "category": FULL_NUTRITION, "special_housing": False,
    }
    arguments.update(kwargs)
    with pytest.raises(FeeError) as error:
        nutrition_patient_fee(**arguments)  # type: ignore[arg-type]
    assert error.value.field == field
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    ("total", "parts", "amounts"),
    [
        (Decimal("100.00"), 3, ("33.34", "33.33", "33.33")),
        (Decimal("0.02"), 3, ("0.01", "0.01", "0.00")),
        (Decimal("4500.00"), 3, ("1500.00", "1500.00", "1500.00")),
    ],
)
def test_split_evenly_spreads_the_odd_öre(total: Decimal, parts: int, amounts: tuple[str, ...]) -> None:
    assert split_evenly(total, parts) == tuple(Decimal(a) for a in amounts)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1500"), f"1{NBSP}500,00{NBSP}kr"),
        (Decimal("406.2"), f"406,20{NBSP}kr"),
        (Decimal("1234567.891"), f"1{NBSP}234{NBSP}567,89{NBSP}kr"),
        (Decimal("0"), f"0,00{NBSP}kr"),
    ],
)
def test_amounts_are_written_the_swedish_way(amount: Decimal, text: str) -> None:
    assert money(amount) == text
