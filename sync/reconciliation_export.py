"""The reconciliation report as people read it: groups by kind and unit with totals, CSV for Excel, A4 PDF, text.

Lines are named by reserve number and the main server's id; the UUID key is left to the
trace link on the HTML page. CSV is what a Swedish Excel opens as it is: semicolons, UTF-8
with BOM (core/spreadsheet.py), Swedish headers, dates as 2026-11-02 08:15, numbers with a
space between thousands. The PDF wraps every cell inside its column, so nothing overlaps.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from core.clock import to_local
from core.formatting import number
from core.spreadsheet import excel_csv
from sync.balance import Balance, balance
from sync.reconciliation import Line, Report
from sync.rules import PRIORITY

@dataclass(frozen=True)
class Group:
    kind_label: str
    unit_label: str
    lines: tuple[Line, ...]

    @property
    def balance(self) -> Balance:
        return balance(line.outcome for line in self.lines)


def groups(report: Report) -> list[Group]:
    """Return the lines grouped by kind (in send order) and unit (by name), capture order within."""
    grouped: dict[tuple[str, str], list[Line]] = {}
    for line in report.lines:
        grouped.setdefault((line.kind, line.unit_label), []).append(line)
    order = sorted(grouped, key=lambda k: (PRIORITY.get(k[0], 99), k[1] == "Ingen enhet angiven", k[1]))
    return [Group(grouped[k][0].kind_label, k[1], tuple(grouped[k])) for k in order]


def moment(value: datetime | None) -> str:
    """Return a stored UTC time as Swedish local time, 2026-11-02 08:15 (empty for none)."""
    local = to_local(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def summary(report: Report) -> list[tuple[str, int]]:
    return totals(report.balance)


def totals(b: Balance) -> list[tuple[str, int]]:
    return [("Registrerade under händelsen", b.captured), ("Inskickade", b.registered), ("Lösta konflikter", b.resolved),
            ("Makulerade", b.cancelled), ("Ej klara (avvikelser)", b.outstanding)]


def totals_text(b: Balance) -> str:
    return (f"{number(b.captured)} poster: {number(b.registered)} inskickade, {number(b.resolved)} lösta, "
            f"{number(b.cancelled)} makulerade, {number(b.outstanding)} ej klara")


def _title(report: Report) -> str:
    return (f"{report.incident_title}. Från {moment(report.started_at)} till {moment(report.resolved_at) or 'pågår'}. "
            f"Skapad {moment(report.generated_at)}." + (" Kontrollerad mot huvudservern." if report.verified else ""))


# --- CSV ------------------------------------------------------------------------------------------

HEADER = ("Reservnummer", "Typ", "Enhet", "Kanal", "Registrerad av", "Registrerad", "Godkänd av", "Godkänd", "Utfall",
          "Läge", "Huvudserverns id", "Inskickad", "Lösning", "Antal rättelser", "Avvikelse")


def _csv_row(line: Line) -> tuple[str, ...]:
    return (line.reserve_number or "", line.kind_label, line.unit_label, line.channel_label, line.captured_by or "",
            moment(line.captured_at), line.approved_by or "", moment(line.approved_at), line.outcome_label,
            line.state_label, line.server_id or "", moment(line.registered_at), line.resolution or "",
            number(line.edits), line.difference or "")


def to_csv(report: Report) -> str:
    """Return the report as CSV Excel opens as it is: a title and totals, then one row per line."""
    return excel_csv([
        [f"Avstämning efter driftstörning – händelse {report.incident_id}", _title(report)],
        *([label, number(count)] for label, count in summary(report)),
        ["Balanserar", "ja" if report.balance.balanced else "nej"], [], HEADER,
        *(_csv_row(line) for group in groups(report) for line in group.lines)])


# --- Text -----------------------------------------------------------------------------------------

def to_text(report: Report) -> str:
    lines = [f"Avstämning, händelse {report.incident_id}: {_title(report)}"]
    lines += [f"  {label}: {number(count)}" for label, count in summary(report)]
    b = report.balance
    lines.append(f"  {b.captured} = {b.registered} + {b.resolved} + {b.cancelled}"
                 + (" – balanserar" if b.balanced else f" + {b.outstanding} ej klara – BALANSERAR INTE"))
    for group in groups(report):
        lines.append(f"  {group.kind_label}, {group.unit_label}: {totals_text(group.balance)}")
    for line in report.differences:
        lines.append(f"  AVVIKELSE {line.kind_label} {line.reserve_number or '(utan reservnummer)'}: {line.difference}")
    return "\n".join(lines) + "\n"


# --- PDF ------------------------------------------------------------------------------------------

PDF_COLUMNS = (("Reservnr", 24), ("Kanal", 17), ("Registrerad av", 31), ("Registrerad", 28), ("Godkänd av", 31),
               ("Utfall", 23), ("Huvudserverns id", 30), ("Inskickad", 28), ("Rättelser", 15), ("Avvikelse", 46))


def _pdf_cells(line: Line) -> tuple[str, ...]:
    return (line.reserve_number or "–", line.channel_label, line.captured_by or "systemet", moment(line.captured_at),
            line.approved_by or "", line.outcome_label, line.server_id or "", moment(line.registered_at),
            number(line.edits), line.difference or "")


def to_pdf(report: Report) -> bytes:
    """Return the report as an A4 landscape PDF: the balance, then each kind and unit with its lines and totals."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    from core.pdf import rendering  # the project's fonts with å ä ö, one render at a time

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"Avstämning händelse {report.incident_id}")
    with rendering():
        doc.build(_pdf_story(report))
    return buffer.getvalue()


def _pdf_story(report: Report) -> list:
    """Return the PDF's flowables: title and balance, then one table per kind and unit."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

    from core.pdf import FONT, FONT_BOLD

    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=14, leading=18)
    heading = ParagraphStyle("heading", fontName=FONT_BOLD, fontSize=10, leading=13, spaceBefore=6)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5)
    head = ParagraphStyle("head", parent=cell, fontName=FONT_BOLD)

    def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text), style)

    b = report.balance
    story: list = [paragraph(f"Avstämning efter driftstörning – händelse {report.incident_id}", title),
                   paragraph(_title(report), body), Spacer(1, 3 * mm)]
    story.append(Table([[paragraph(label, body), paragraph(number(count), body)] for label, count in summary(report)]
                       + [[paragraph("Balanserar", body), paragraph("ja" if b.balanced else "NEJ", body)]],
                       colWidths=(70 * mm, 25 * mm), hAlign="LEFT",
                       style=TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey)])))
    widths = [w * mm for _, w in PDF_COLUMNS]
    for group in groups(report):
        rows = [[paragraph(label, head) for label, _ in PDF_COLUMNS]]
        rows += [[paragraph(text, cell) for text in _pdf_cells(line)] for line in group.lines]
        style = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5"))]
        style += [("BACKGROUND", (0, i), (-1, i), colors.HexColor("#fde8e8"))
                  for i, line in enumerate(group.lines, start=1) if line.difference]
        story.append(KeepTogether([paragraph(f"{group.kind_label} – {group.unit_label}", heading),
                                   paragraph(f"Summa: {totals_text(group.balance)}.", body), Spacer(1, 1 * mm)]))
        story.append(Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT", style=TableStyle(style)))
    return story

