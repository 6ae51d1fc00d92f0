"""The users-per-prescribing-unit report as CSV: plain rows in, text out (Excel-friendly, Swedish)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

HEADER = ("Kundnummer", "Förskrivande enhet", "Användarnamn", "Namn", "HSA-id", "Roller", "Produktområden",
          "E-post", "Telefon", "Arbetsplats", "Aktiv", "Senast inloggad")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Return the cell as text that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: Iterable[Sequence[object]]) -> str:
    """Return the report: a byte-order mark so Excel reads UTF-8, semicolons as Swedish Excel expects."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()
