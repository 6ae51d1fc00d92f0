"""Nutrition patient fee ("Patientavgift – Nutrition").

The manual: a patient who lives only on the prescribed products is in the full-nutrition
category (fullnutrition, at most 1 500 kr per month); with the field blank the patient pays
50 % of the product cost; residents of the municipality's special housing (särskilt boende)
pay nothing. Full nutrition is billed by goods value and consumption period: 30 days → 1
invoice, 60 → 2, 90 → 3, each capped at 1 500 kr; below the cap the actual value is billed.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.prescribing.errors import InvalidInput
from app.prescribing.quantity import DAYS_PER_YEAR
from core.formatting import money

# Same value as core.models.patients.NUTRITION_FULL; repeated so the rule needs no database code.
FULL_NUTRITION = "full_nutrition"
MONTHLY_CAP = Decimal("1500.00")
DAYS_PER_INVOICE = 30
PATIENT_SHARE = Decimal("0.50")
ORE = Decimal("0.01")
MAX_GOODS_VALUE = Decimal("10000000")  # ten million kronor: anything above is a typing mistake


class FeeError(InvalidInput):
    """An input to the fee calculation is invalid."""


@dataclass(frozen=True)
class FeeResult:
    """What the patient pays for one withdrawal, and how it is invoiced."""

    patient_pays: Decimal
    invoices: int
    per_invoice: Decimal
    invoice_amounts: tuple[Decimal, ...]
    rule_text_sv: str


def invoices_for_period(period_days: int) -> int:
    """Return the number of monthly invoices for a full-nutrition withdrawal's period."""
    _check_period(period_days)
    # Nearest whole month, halves up, at least one: 30/60/90 → 1/2/3 as in the manual,
    # 365 → 12 (a year is twelve monthly fees, not 13), 45 → 2, 10 → 1.
    months = (Decimal(period_days) / DAYS_PER_INVOICE).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(1, int(months))


def nutrition_patient_fee(
    goods_value: Decimal, period_days: int, category: str | None, special_housing: bool
) -> FeeResult:
    """Return the patient's fee for one nutrition withdrawal of `goods_value` kronor."""
    value = _check_goods_value(goods_value)
    _check_period(period_days)
    if category not in (None, "", FULL_NUTRITION):
        raise FeeError("category", "Okänd patientkategori; välj fullnutrition eller lämna fältet tomt.")

    if special_housing:
        return FeeResult(
            Decimal("0.00"), 0, Decimal("0.00"), (),
            "Särskilt boende: patienten betalar inte för nutritionsprodukter.",
        )

    if category == FULL_NUTRITION:
        invoices = invoices_for_period(period_days)
        cap = MONTHLY_CAP * invoices
        pays = min(_to_ore(value), cap)
        amounts = split_evenly(pays, invoices)
        if value > cap:
            text = (
                f"Fullnutrition, högst {money(MONTHLY_CAP)} per månad: "
                f"{invoices} {_invoice_word(invoices)} × {money(MONTHLY_CAP)} = {money(pays)} "
                f"(varuvärdet {money(value)} överstiger maxbeloppet)."
            )
        else:
            text = (
                f"Fullnutrition, högst {money(MONTHLY_CAP)} per månad: varuvärdet {money(pays)} "
                f"understiger maxbeloppet {money(cap)} och faktureras på "
                f"{invoices} {_invoice_word(invoices)}."
            )
        return FeeResult(pays, invoices, amounts[0], amounts, text)

    pays = _to_ore(value * PATIENT_SHARE)
    text = f"Patienten betalar 50 % av produktkostnaden: 50 % av {money(value)} = {money(pays)}."
    return FeeResult(pays, 1, pays, (pays,), text)


def split_evenly(total: Decimal, parts: int) -> tuple[Decimal, ...]:
    """Return `parts` amounts in öre that add up to `total`, the odd öre on the first ones."""
    ore = int((total / ORE).to_integral_value(rounding=ROUND_HALF_UP))
    base, remainder = divmod(ore, parts)
    # Spreading the odd öre keeps every invoice within the monthly cap; putting the whole
    # remainder on the last invoice could push it a few öre over 1 500 kr.
    return tuple((Decimal(base + (1 if index < remainder else 0)) * ORE) for index in range(parts))


def _to_ore(amount: Decimal) -> Decimal:
    return amount.quantize(ORE, rounding=ROUND_HALF_UP)


def _check_goods_value(goods_value: object) -> Decimal:
    if isinstance(goods_value, bool) or not isinstance(goods_value, (Decimal, int)):
        # Money in float loses öre; the caller converts from text or the database's Numeric.
        raise FeeError("goods_value", "Varuvärdet måste anges som ett exakt belopp.")
    value = Decimal(goods_value)
    if not value.is_finite():
        raise FeeError("goods_value", "Varuvärdet måste vara ett belopp.")
    if value < 0:
        raise FeeError("goods_value", "Varuvärdet kan inte vara negativt.")
    if value > MAX_GOODS_VALUE:
        raise FeeError("goods_value", "Varuvärdet är orimligt högt.")
    return value


def _check_period(period_days: object) -> None:
    if isinstance(period_days, bool) or not isinstance(period_days, int):
        raise FeeError("period_days", "Förbrukningsperiod per uttag måste vara ett heltal.")
    if not 1 <= period_days <= DAYS_PER_YEAR:
        raise FeeError("period_days", f"Förbrukningsperiod per uttag måste vara 1–{DAYS_PER_YEAR} dagar.")


def _invoice_word(count: int) -> str:
    return "faktura" if count == 1 else "fakturor"
