"""Read the access log's filter (user, patient, period) from the query string, with Swedish messages by field."""
from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from core.privacy import access_log
from core.privacy.log_review import LogFilter
from core.privacy.personnummer import InvalidPersonnummer, validate_personnummer

DATE_MESSAGE = "Ange datumet som ÅÅÅÅ-MM-DD."


def parse_log_filter(args: MultiDict) -> tuple[LogFilter, dict[str, str]]:
    """Return the filter and the errors by field name (empty when the filter is usable)."""
    errors: dict[str, str] = {}
    user_id = args.get("user", type=int)
    if args.get("user") and (user_id is None or not access_log.user_exists(user_id)):
        errors["user"] = "Okänd användare."
    patient = None
    personnummer = args.get("personnummer", "").strip()
    if personnummer:
        try:
            patient = access_log.find_patient_by_personnummer(validate_personnummer(personnummer))
            if patient is None:
                errors["personnummer"] = "Ingen patient har det personnumret."
        except InvalidPersonnummer as exc:
            errors["personnummer"] = str(exc)
    date_from, date_to = _date(args, "fran", errors), _date(args, "till", errors)
    if date_from and date_to and date_to < date_from:
        errors["till"] = "Till-datumet kan inte vara före från-datumet."
    return LogFilter(user_id, patient, date_from, date_to), errors


def _date(args: MultiDict, field: str, errors: dict[str, str]) -> date | None:
    text = args.get(field, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else _refuse(field, errors)
    except ValueError:
        return _refuse(field, errors)


def _refuse(field: str, errors: dict[str, str]) -> None:
    errors[field] = DATE_MESSAGE
