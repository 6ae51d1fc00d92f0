"""The access log as plain lines for the region's log review: CSV export and the patient's extract."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.clock import to_local
from core.models import AccessLogEntry
from core.privacy.access_log import AccessAction
from core.privacy.screens import screen_name
from core.spreadsheet import excel_csv

CSV_HEADER = ("Tid", "Användare", "Namn", "Roll", "Enhet", "Personnummer", "Patient", "Åtgärd", "Skärm")


@dataclass(frozen=True)
class LogLine:
    at: str  # Swedish local time, "2026-11-21 11:00:00"
    username: str
    user_name: str
    roles: str
    units: str
    personnummer: str
    patient_name: str
    action: str
    screen: str


def log_lines(entries: Iterable[AccessLogEntry]) -> list[LogLine]:
    """Return each entry as the words a reader of the log sees: Swedish time, role, unit, screen."""
    return [
        LogLine(
            at=to_local(e.at).strftime("%Y-%m-%d %H:%M:%S"),
            username=e.user.username,
            user_name=e.user.name,
            roles=", ".join(sorted(role.label for role in e.user.roles)),
            units=", ".join(sorted(unit.name for unit in e.user.units)),
            personnummer=f"{e.patient.personnummer[:8]}-{e.patient.personnummer[8:]}",
            patient_name=e.patient.full_name,
            action=_action_label(e.action),
            screen=screen_name(e.context),
        )
        for e in entries
    ]


def _action_label(action: str) -> str:
    try:
        return AccessAction(action).label
    except ValueError:
        return action


def log_csv(lines: Sequence[LogLine]) -> bytes:
    """Return the lines as semicolon-separated UTF-8 with a BOM, so Swedish Excel opens it as it is."""
    return excel_csv([CSV_HEADER, *((line.at, line.username, line.user_name, line.roles, line.units,
                                      line.personnummer, line.patient_name, line.action, line.screen)
                                     for line in lines)]).encode("utf-8")
