"""CSV that Swedish Excel opens as it is: UTF-8 with a byte-order mark, semicolons, CRLF lines,
and no cell that a spreadsheet would run as a formula (CSV injection)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"  # Excel reads a semicolon CSV as UTF-8 only when it starts with the byte-order mark
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Return the cell as text that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def excel_csv(rows: Iterable[Sequence[object]]) -> str:
    """Return the rows (headers included) as Excel-ready CSV text, starting with the byte-order mark."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue()
