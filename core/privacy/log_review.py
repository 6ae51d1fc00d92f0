"""The region's log review: the access log filtered, exported as CSV, or extracted for one patient as PDF."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.clock import local_today
from core.formatting import utc_from_local
from core.models import Patient, User
from core.privacy.access_log import AccessAction, access_log_entries
from core.privacy.chokepoint import mark_displayed
from core.privacy.log_extract import ExtractRequest, render_log_extract
from core.privacy.log_report import log_csv, log_lines


@dataclass(frozen=True)
class LogFilter:
    """Who, whom and which Swedish calendar days (both inclusive) a reader of the log asks about."""

    user_id: int | None = None
    patient: Patient | None = None
    date_from: date | None = None
    date_to: date | None = None

    @property
    def since(self) -> datetime | None:
        return utc_from_local(datetime.combine(self.date_from, time())) if self.date_from else None

    @property
    def until(self) -> datetime | None:
        """Return the UTC moment the day after `date_to` begins in Sweden (the period's open end)."""
        return utc_from_local(datetime.combine(self.date_to + timedelta(days=1), time())) if self.date_to else None

    @property
    def patient_id(self) -> int | None:
        return self.patient.id if self.patient else None


def export_csv(actor: User, log_filter: LogFilter, context: str) -> bytes:
    """Return the filtered log as CSV for the log review; the export is itself logged per patient in it."""
    entries = access_log_entries(log_filter.user_id, log_filter.patient_id, log_filter.since, log_filter.until)
    mark_displayed(actor.id, [e.patient_id for e in entries], AccessAction.LOG_EXPORT, context)
    return log_csv(log_lines(entries))


def patient_extract(actor: User, patient: Patient, date_from: date, date_to: date, system_name: str,
                    context: str) -> bytes:
    """Return one patient's accesses over the period as the PDF extract they asked for; the print is logged."""
    period = LogFilter(patient=patient, date_from=date_from, date_to=date_to)
    entries = access_log_entries(None, patient.id, period.since, period.until)
    mark_displayed(actor.id, [patient.id], AccessAction.LOG_EXTRACT, context)
    request = ExtractRequest(
        patient_name=patient.full_name, personnummer=f"{patient.personnummer[:8]}-{patient.personnummer[8:]}",
        period_from=date_from, period_to=date_to, printed_on=local_today(), printed_by=actor.name,
        system_name=system_name,
    )
    return render_log_extract(request, log_lines(entries))
