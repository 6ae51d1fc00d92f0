"""Swedish formats: stored UTC moments in Swedish time with the zone named, local input read back,
and numbers, money and percentages (Babel, sv_SE)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from babel.numbers import format_currency, format_decimal, format_percent

from core.clock import STOCKHOLM, to_local


def local_text(moment: datetime | None) -> str:
    """Return e.g. '2026-11-02 13:00 CET' for a stored naive-UTC moment."""
    local = to_local(moment)
    return local.strftime("%Y-%m-%d %H:%M %Z") if local else ""


def local_iso(moment: datetime | None) -> str | None:
    """Return ISO 8601 in Europe/Stockholm with its offset, e.g. '2026-11-02T13:00:00+01:00'."""
    local = to_local(moment)
    return local.isoformat(timespec="seconds") if local else None


def utc_from_local(local_naive: datetime) -> datetime:
    """Return the naive-UTC moment of a wall-clock time entered in Sweden."""
    return local_naive.replace(tzinfo=STOCKHOLM).astimezone(timezone.utc).replace(tzinfo=None)


def utc_from_aware(moment: datetime) -> datetime:
    """Return the naive-UTC moment of a timezone-aware datetime."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def duration_text(seconds: int) -> str:
    """Return e.g. '3 h 05 min' or '42 min'."""
    minutes = max(seconds, 0) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


# --- Numbers, money and percentages the Swedish way (Babel, sv_SE) -----------------------------
# Thousands are grouped with non-breaking spaces, so an amount never wraps inside a table cell.
LOCALE = "sv_SE"
ORE = Decimal("0.01")


def money(amount: Decimal | int | float | str) -> str:
    """Return e.g. "2 580,00 kr", rounded half up to whole öre."""
    rounded = Decimal(str(amount)).quantize(ORE, rounding=ROUND_HALF_UP)
    return format_currency(rounded, "SEK", locale=LOCALE)


def number(value: Decimal | int | float | Fraction, decimals: int = 0) -> str:
    """Return e.g. "1 234" or, with decimals, "3,5" (trailing zeros dropped)."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def percent(fraction: Decimal | float, decimals: int = 2) -> str:
    """Return e.g. "92,36 %" for 0.9236."""
    return format_percent(fraction, format="#,##0." + "0" * decimals + "\u00a0%", locale=LOCALE)
