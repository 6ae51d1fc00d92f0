"""Withdrawal search criteria, shared by the overview page, saved searches and the JSON API; no Flask."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from core.clock import STOCKHOLM
from core.errors import FieldError, ValidationFailed
from core.privacy.personnummer import InvalidPersonnummer, validate_personnummer
from app.withdrawals.rules import WithdrawalStatus, u_number_range

# The query-string names, the same in the UI and the API: q, patient, unit, status, from, to.
CRITERIA_ARGS = ("q", "patient", "unit", "status", "from", "to")


@dataclass(frozen=True)
class WithdrawalCriteria:
    number_range: tuple[int, int] | None = None  # U-numbers starting with what was typed
    personnummer: str | None = None
    unit_id: int | None = None
    status: WithdrawalStatus | None = None
    date_from: date | None = None
    date_to: date | None = None

    @property
    def is_advanced(self) -> bool:
        return any((self.personnummer, self.unit_id, self.status, self.date_from, self.date_to))


def parse_withdrawal_criteria(args: Mapping[str, str], today: date | None = None) -> WithdrawalCriteria:
    """Return the criteria in the query arguments, or raise ValidationFailed naming every bad field."""
    errors: list[FieldError] = []
    values: dict = {}
    text = (args.get("q") or "").strip()
    if text:
        try:
            values["number_range"] = u_number_range(text)
        except ValueError as exc:
            errors.append(FieldError("q", str(exc)))
    personnummer = (args.get("patient") or "").strip()
    if personnummer:
        try:
            values["personnummer"] = validate_personnummer(personnummer, today)
        except InvalidPersonnummer as exc:
            errors.append(FieldError("patient", str(exc)))
    unit = (args.get("unit") or "").strip()
    if unit:
        if unit.isdigit() and len(unit) <= 9:
            values["unit_id"] = int(unit)
        else:
            errors.append(FieldError("unit", "Välj en förskrivande enhet."))
    status = (args.get("status") or "").strip()
    if status:
        try:
            values["status"] = WithdrawalStatus(status)
        except ValueError:
            errors.append(FieldError("status", "Okänd status; välj Ny, Skickad, Levererad eller Avbruten."))
    for name, key in (("from", "date_from"), ("to", "date_to")):
        raw = (args.get(name) or "").strip()
        if raw:
            try:
                values[key] = date.fromisoformat(raw)
            except ValueError:
                errors.append(FieldError(name, "Ange datum som ÅÅÅÅ-MM-DD."))
    if values.get("date_from") and values.get("date_to") and values["date_from"] > values["date_to"]:
        errors.append(FieldError("to", "Till-datumet ligger före från-datumet."))
    if errors:
        raise ValidationFailed(errors)
    return WithdrawalCriteria(**values)


def local_day_start_utc(day: date) -> datetime:
    """Return the naive-UTC moment Swedish local `day` begins (what ordered_at is compared with)."""
    return datetime.combine(day, time(0), tzinfo=STOCKHOLM).astimezone(timezone.utc).replace(tzinfo=None)
