"""The printable kit (reservlåda) as PDF, from plain values: blank order and work-order forms with
a pre-reserved number and its QR code, per-unit lists of active rows, and one page per runbook.

Every page says when the data was last in step with the main server ("Uppgifter per") and
when it was printed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from core.pdf import FONT, FONT_BOLD, register_fonts, rendering
from reportlab.platypus import (
    BaseDocTemplate, Frame, KeepInFrame, PageBreak, PageTemplate, Paragraph, Spacer, Table, TableStyle,
)

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT, RIGHT, TOP = 18 * mm, PAGE_WIDTH - 15 * mm, PAGE_HEIGHT - 14 * mm
FRAME_BOTTOM = 16 * mm  # the flowing documents' text, between the header and the footer
FRAME_WIDTH, FRAME_HEIGHT = RIGHT - LEFT, TOP - 14 * mm - FRAME_BOTTOM
STOCKHOLM = ZoneInfo("Europe/Stockholm")
QR_SIZE = 30 * mm
GREY = colors.HexColor("#52606d")
LINE = colors.HexColor("#9aa5b1")


@dataclass(frozen=True)
class KitHeader:
    system_name: str
    printed_at: datetime  # naive UTC
    data_as_of: datetime | None  # naive UTC; None: unknown


@dataclass(frozen=True)
class UnitListRow:
    patient_name: str
    personnummer: str
    article_number: str
    article_name: str
    packages_per_withdrawal: int
    withdrawals_left: int
    withdrawals: int
    valid_until: date
    prescription_number: str


@dataclass(frozen=True)
class RunbookSheet:
    title: str
    source: str
    summary: str
    steps: tuple[tuple[str, str, str, str], ...]  # (title, role, deadline, what to record)
    callers: tuple[str, ...]
    timed_from: str = "störningens början"  # what the deadlines count from


def local_minute(moment: datetime | None) -> str:
    """Return a stored naive-UTC moment as "2026-11-02 kl. 10.00" in Swedish time."""
    if moment is None:
        return "okänt"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(STOCKHOLM).strftime("%Y-%m-%d kl. %H.%M")


def _stamp(canvas: Canvas, header: KitHeader, title: str, page: int | None = None, subject: str = "") -> None:
    """Draw the header every page carries: system, document, "Uppgifter per" and print time."""
    canvas.setFont(FONT_BOLD, 11)
    canvas.setFillColor(colors.black)
    canvas.drawString(LEFT, TOP, header.system_name)
    canvas.drawRightString(RIGHT, TOP, title.upper())
    canvas.setFont(FONT, 8.5)
    canvas.setFillColor(GREY)
    canvas.drawString(LEFT, TOP - 4.5 * mm, "Reservrutin – används när huvudsystemet inte går att nå")
    canvas.drawRightString(RIGHT, TOP - 4.5 * mm, f"Uppgifter per {local_minute(header.data_as_of)}")
    canvas.drawRightString(RIGHT, TOP - 8.5 * mm, f"Utskriven {local_minute(header.printed_at)}")
    canvas.setStrokeColor(LINE)
    canvas.setLineWidth(0.5)
    canvas.line(LEFT, TOP - 11 * mm, RIGHT, TOP - 11 * mm)
    canvas.setFillColor(GREY)
    canvas.setFont(FONT, 7.5)
    footer = f"{header.system_name} · {title}" + (f" – {subject}" if subject else "")
    if page is not None:
        footer += f" · sida {page}"
    canvas.drawString(LEFT, 10 * mm, footer)
    canvas.setFillColor(colors.black)


def draw_qr(canvas: Canvas, value: str, x: float, y: float, size: float) -> None:
    """Draw a QR code of the value with its lower left corner at (x, y)."""
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def _choices(canvas: Canvas, y: float, heading: str, labels: Sequence[str]) -> float:
    """Draw the heading and a checkbox per label, wrapping at the right margin; return the last row's y."""
    canvas.setFont(FONT_BOLD, 10)
    canvas.drawString(LEFT, y, heading)
    canvas.setFont(FONT, 10)
    x, y = LEFT, y - 6 * mm
    for label in labels:
        width = 5 * mm + pdfmetrics.stringWidth(label, FONT, 10)
        if x > LEFT and x + width > RIGHT:
            x, y = LEFT, y - 6 * mm
        canvas.rect(x, y - 0.5 * mm, 3.5 * mm, 3.5 * mm)
        canvas.drawString(x + 5 * mm, y, label)
        x += width + 7 * mm
    return y


def _line_field(canvas: Canvas, y: float, label: str, width: float | None = None, x: float = LEFT) -> None:
    canvas.setFont(FONT, 8.5)
    canvas.setFillColor(GREY)
    canvas.drawString(x, y + 5.5 * mm, label)
    canvas.setFillColor(colors.black)
    canvas.setStrokeColor(colors.black)
    canvas.line(x, y, x + (width or (RIGHT - x)), y)


def _number_block(canvas: Canvas, number: str, title: str) -> float:
    top = TOP - 16 * mm
    canvas.setFont(FONT_BOLD, 17)
    canvas.drawString(LEFT, top - 6 * mm, title)
    canvas.setFont(FONT, 10)
    canvas.drawString(LEFT, top - 13 * mm, "Reservnummer")
    canvas.setFont(FONT_BOLD, 22)
    canvas.drawString(LEFT, top - 22 * mm, number)
    canvas.setFont(FONT, 8)
    canvas.setFillColor(GREY)
    canvas.drawString(LEFT, top - 27 * mm, "Ange numret när ärendet registreras i efterhand. Numret används en gång.")
    canvas.setFillColor(colors.black)
    draw_qr(canvas, number, RIGHT - QR_SIZE, top - QR_SIZE, QR_SIZE)
    return top - 38 * mm


def _sign_off(canvas: Canvas, y: float, labels: tuple[str, str, str], notes: Sequence[str]) -> None:
    """A form's last row of three signature fields, with its grey instructions underneath."""
    third = (RIGHT - LEFT) / 3 - 4 * mm
    for index, label in enumerate(labels):
        _line_field(canvas, y, label, third, LEFT + index * (third + 6 * mm))
    canvas.setFont(FONT, 8)
    canvas.setFillColor(GREY)
    text = canvas.beginText(LEFT, y - 12 * mm)
    for line in notes:
        text.textLine(line)
    canvas.drawText(text)
    canvas.setFillColor(colors.black)


def _order_form(canvas: Canvas, number: str, header: KitHeader) -> None:
    _stamp(canvas, header, "Beställningsblankett")
    y = _number_block(canvas, number, "Beställning under driftstörning")
    y = _choices(canvas, y, "Typ (en per blankett)",
                 ("Förskrivning (akut)", "Beställning till vårdenhet", "Lagerflytt från lager 10 till kommunlager"))
    y = _choices(canvas, y - 9 * mm, "Kanal", ("Telefon", "E-post (endast utan personuppgifter)", "Papper"))
    y -= 16 * mm
    half = (RIGHT - LEFT) / 2 - 4 * mm
    _line_field(canvas, y, "Patientens personnummer (endast förskrivning)", half)
    _line_field(canvas, y, "Förskrivande enhet / vårdenhet (kundnummer)", half, LEFT + half + 8 * mm)
    y -= 14 * mm
    _line_field(canvas, y, "Ansvarig förskrivare (namn, HSA-id)", half)
    _line_field(canvas, y, "Beställare / kontaktperson och telefon", half, LEFT + half + 8 * mm)
    y -= 14 * mm
    _line_field(canvas, y, "Artikelnummer", 40 * mm)
    _line_field(canvas, y, "Benämning", RIGHT - LEFT - 90 * mm, LEFT + 45 * mm)
    _line_field(canvas, y, "Antal förpackningar", 35 * mm, RIGHT - 35 * mm)
    y -= 14 * mm
    _line_field(canvas, y, "Anteckning (leveransadress, önskad leveransdag m.m.)")
    y -= 9 * mm
    canvas.line(LEFT, y, RIGHT, y)
    y -= 16 * mm
    _sign_off(canvas, y, ("Mottaget av", "Datum och klockslag", "Efterregistrerad (datum, signatur)"), (
        "Lagerflytt och lagerpåfyllnad prioriteras alltid. En beställning får bara mejlas om den saknar "
        "personuppgifter",
        "(t.ex. lagerflytt eller utrustning till ett boende). Allt som gäller en patient ska ringas in till "
        "Kundservice.",
        "Blanketten lämnas till Hjälpmedelsservice som efterregistrerar beställningen så snart systemet fungerar igen.",
    ))


def _work_order_form(canvas: Canvas, number: str, header: KitHeader, types: Sequence[str]) -> None:
    _stamp(canvas, header, "Arbetsorder")
    y = _number_block(canvas, number, "Arbetsorder under driftstörning")
    y = _choices(canvas, y, "Arbetsordertyp (välj en – kan inte ändras i efterhand)", types) - 16 * mm
    half = (RIGHT - LEFT) / 2 - 4 * mm
    _line_field(canvas, y, "Ansvarig förskrivare (namn, HSA-id)", half)
    _line_field(canvas, y, "Ansvarig tekniker", half, LEFT + half + 8 * mm)
    y -= 14 * mm
    _line_field(canvas, y, "Patient (personnummer) eller vårdenhet (kundnummer)", half)
    _line_field(canvas, y, "Hjälpmedel (artikelnummer, individnummer)", half, LEFT + half + 8 * mm)
    y -= 14 * mm
    _line_field(canvas, y, "Adress där arbetet utförs")
    y -= 14 * mm
    _line_field(canvas, y, "Beskrivning av felet / arbetet")
    for _ in range(3):
        y -= 9 * mm
        canvas.line(LEFT, y, RIGHT, y)
    y -= 16 * mm
    _sign_off(canvas, y, ("Utfört datum och tid", "Signatur tekniker", "Efterregistrerad (datum, signatur)"), (
        "Skriv arbetsordern på blanketten och lämna den till ansvarig tekniker. Arbetsordrar läggs in i efterhand av",
        "ansvarig förskrivare; på Hjälpmedelsservice av driftsledare eller efter överenskommelse av ansvarig tekniker.",
        "Har fel arbetsordertyp valts makuleras arbetsordern och en ny skrivs.",
    ))


def _forms(numbers: Sequence[str], header: KitHeader, title: str, draw) -> bytes:  # noqa: ANN001
    register_fonts()
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(header.system_name)
    with rendering():
        for number in numbers:
            draw(canvas, number)
            canvas.showPage()
        canvas.save()
    return buffer.getvalue()


def render_order_forms(numbers: Sequence[str], header: KitHeader) -> bytes:
    """Return one blank order form (beställning, förskrivning, lagerflytt) per reserve number."""
    return _forms(numbers, header, "Beställningsblanketter – reservrutin",
                  lambda canvas, number: _order_form(canvas, number, header))


def render_work_order_forms(numbers: Sequence[str], header: KitHeader, types: Sequence[str]) -> bytes:
    """Return one blank work-order form per reserve number."""
    return _forms(numbers, header, "Arbetsorderblanketter – reservrutin",
                  lambda canvas, number: _work_order_form(canvas, number, header, types))


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, spaceAfter=3)
    return {
        "body": body,
        "h1": ParagraphStyle("h1", body, fontName=FONT_BOLD, fontSize=14, leading=18, spaceAfter=4),
        "h2": ParagraphStyle("h2", body, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=4, spaceAfter=2),
        "small": ParagraphStyle("small", body, fontSize=8, leading=10, textColor=GREY),
        "td": ParagraphStyle("td", body, fontSize=8.5, leading=10.5, spaceAfter=0),
        "th": ParagraphStyle("th", body, fontName=FONT_BOLD, fontSize=8.5, leading=10.5, spaceAfter=0),
    }


def _document(story: list, header: KitHeader, title: str, subject: str = "") -> bytes:
    """Return the story as PDF; each page is stamped, and its footer names the subject (a loose page says whose)."""
    buffer = BytesIO()
    frame = Frame(LEFT, FRAME_BOTTOM, FRAME_WIDTH, FRAME_HEIGHT, leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0)

    def on_page(canvas: Canvas, doc: Any) -> None:
        _stamp(canvas, header, title, doc.page, subject)

    doc = BaseDocTemplate(buffer, pagesize=A4, title=title, author=header.system_name, creator=header.system_name,
                          lang="sv-SE")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    with rendering():
        doc.build(story)
    return buffer.getvalue()


def _cell(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph("<br/>".join(escape(line) for line in text.split("\n")), style)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
           styles: dict[str, ParagraphStyle]) -> Table:
    data = [[_cell(text, styles["th"]) for text in head]]
    data += [[_cell(text, styles["td"]) for text in row] for row in rows]
    table = Table(data, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e7eb")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cbd2d9")),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
    ]))
    return table


def format_personnummer(personnummer: str) -> str:
    return f"{personnummer[:8]}-{personnummer[8:]}" if len(personnummer) == 12 else personnummer


def render_unit_list(unit_name: str, customer_number: str, rows: Sequence[UnitListRow], header: KitHeader) -> bytes:
    """Return the unit's active prescription rows (patient, article, withdrawals left) for the downtime."""
    styles = _styles()
    patients = len({row.personnummer for row in rows})
    story: list = [
        Paragraph(f"Aktiva förskrivningsrader – {escape(unit_name)} ({escape(customer_number)})", styles["h1"]),
        Paragraph(f"{len(rows)} aktiva rader för {patients} patienter, enligt den lokala databasen per "
                  f"{local_minute(header.data_as_of)}. Uttag som gjorts i huvudsystemet efter det syns inte.",
                  styles["body"]),
        Paragraph("Innehåller personuppgifter: förvaras inlåst och förstörs när driftstörningen är över.",
                  styles["small"]),
        Spacer(1, 3 * mm),
    ]
    if not rows:
        story.append(Paragraph("Enheten har inga aktiva förskrivningsrader.", styles["body"]))
    else:
        body = [(f"{row.patient_name}\n{format_personnummer(row.personnummer)}", row.article_number,
                 row.article_name, str(row.packages_per_withdrawal), f"{row.withdrawals_left} av {row.withdrawals}",
                 row.valid_until.isoformat(), row.prescription_number) for row in rows]
        story.append(_table(("Patient", "Artikelnr", "Benämning", "Förp./uttag", "Uttag kvar", "Giltig t.o.m.",
                             "Förskrivning"), body,
                            (40 * mm, 17 * mm, 46 * mm, 13 * mm, 16 * mm, 21 * mm, 24 * mm), styles))
    return _document(story, header, "Aktiva rader per enhet", f"{unit_name} ({customer_number})")


def render_runbook_sheets(sheets: Sequence[RunbookSheet], header: KitHeader) -> bytes:
    """Return one page per runbook: summary, steps with role and deadline, what to tell callers."""
    styles = _styles()
    story: list = []
    for index, sheet in enumerate(sheets):
        if index:
            story.append(PageBreak())
        # A long runbook is shrunk to fit: the kit promises one sheet per scenario.
        story.append(KeepInFrame(FRAME_WIDTH, FRAME_HEIGHT, mode="shrink", content=[
            Paragraph(escape(sheet.title), styles["h1"]),
            Paragraph(escape(sheet.summary), styles["body"]),
            Paragraph(f"Källa: {escape(sheet.source)}. Tiderna räknas från {escape(sheet.timed_from)}.",
                      styles["small"]),
            Spacer(1, 2 * mm),
            _table(("Steg", "Roll", "Senast", "Registrera"), sheet.steps, (72 * mm, 36 * mm, 20 * mm, 49 * mm),
                   styles),
            *([Paragraph("Att säga till den som ringer", styles["h2"])] if sheet.callers else []),
            *[Paragraph(f"• {escape(text)}", styles["body"]) for text in sheet.callers],
        ]))
    return _document(story, header, "Checklistor")
