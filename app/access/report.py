"""The users-per-prescribing-unit report as CSV: plain rows in, text out (Excel-friendly, Swedish)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.spreadsheet import excel_csv

HEADER = ("Kundnummer", "Förskrivande enhet", "Användarnamn", "Namn", "HSA-id", "Roller", "Produktområden",
          "E-post", "Telefon", "Arbetsplats", "Aktiv", "Senast inloggad")

def to_csv(rows: Iterable[Sequence[object]]) -> str:
    """Return the report as CSV that Swedish Excel opens as it is."""
    return excel_csv([HEADER, *rows])
