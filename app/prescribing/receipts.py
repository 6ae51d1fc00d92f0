"""Prescription receipts ("Förskrivningskvitto") as PDF, from plain values.

Two documents: one prescription's receipt, and all of a patient's active rows preceded by
a cover sheet ("Följebrev"). The first page of each carries the patient's name and address
where a right-window envelope shows it, so the letter can be posted as it is printed.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate, Flowable, Frame, KeepTogether, NextPageTemplate, PageBreak, PageTemplate, Paragraph, Spacer,
    Table, TableStyle,
)

from app.prescribing.quantity import prescription_expires_on
from core.pdf import FONT, FONT_BOLD, register_fonts, rendering

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT = 20 * mm
MARGIN_RIGHT = 15 * mm
TAB_RIGHT = 120 * mm  # the right-hand column: document name, date, address field

# Address field for an A4 letter in a right-window envelope: C4 unfolded, or C5 with the
# sheet folded once across the middle. This is the usual Swedish letter-template field for
# "höger fönster" (H2): 120 mm from the left edge, 48 mm from the top, 80 × 30 mm. It lies
# inside the window of both envelope sizes with a few millimetres to spare for the sheet
# sliding about. The SIS standard text itself was not at hand; check against the envelope
# stock the region actually buys before changing anything here.
ADDRESS_FIELD_LEFT_MM = 120
ADDRESS_FIELD_TOP_MM = 48
ADDRESS_FIELD_WIDTH_MM = 80
ADDRESS_FIELD_HEIGHT_MM = 30
ADDRESS_INSET_MM = 4  # keeps the text off the window's edge when the sheet shifts
ADDRESS_FONT_SIZE = 11
ADDRESS_MIN_FONT_SIZE = 8

DOCUMENT_TITLE = "Förskrivningskvitto"  # also the PDF title: metadata never names the patient
STOCKHOLM = ZoneInfo("Europe/Stockholm")

@dataclass(frozen=True)
class ReceiptPatient:
    name: str
    street: str | None
    postal_code: str | None
    city: str | None
    personnummer: str


@dataclass(frozen=True)
class ReceiptRow:
    article_number: str
    article_name: str
    package_size: int
    packages_per_withdrawal: int
    withdrawals: int
    period_days: int
    recommendation: str | None = None
    status_note: str | None = None  # e.g. "Inväntar registrering" for a row saved during an outage
    withdrawals_left: int | None = None


@dataclass(frozen=True)
class ReceiptPrescription:
    number: str | None  # nine digits; None while it awaits registration on the main server
    prescribed_on: date
    prescriber_name: str
    unit_name: str
    product_area_name: str
    rows: tuple[ReceiptRow, ...]

    def __post_init__(self) -> None:
        if self.number is not None and not re.fullmatch(r"\d{9}", self.number):
            raise ValueError("number: ett förskrivningsnummer har nio siffror")


def render_prescription_receipt(
    prescription: ReceiptPrescription, patient: ReceiptPatient, *, system_name: str, printed_on: date,
    data_as_of: datetime | None = None,
) -> bytes:
    """Return the PDF receipt for one prescription, addressed to the patient."""
    styles = _styles()
    number = _prescription_number(prescription)
    references = [
        ("Förskrivningsnummer", number),
        ("Förskrivningsdatum", prescription.prescribed_on.isoformat()),
        ("Giltig till och med", prescription_expires_on(prescription.prescribed_on).isoformat()),
        ("Personnummer", format_personnummer(patient.personnummer)),
    ]
    story: list[Flowable] = [
        Paragraph(f"Förskrivning {escape(number)} – {escape(prescription.product_area_name)}", styles["h1"]),
        _prescription_facts(prescription, styles, with_dates=False),  # the dates stand beside the address
        Spacer(1, 4 * mm),
        _rows_table(prescription.rows, styles),
        Spacer(1, 5 * mm),
        Paragraph(
            "Antalet förpackningar är avrundat till hela förpackningar och kan därför räcka något längre eller "
            "kortare tid än förbrukningsperioden. Ange förskrivningsnumret när du beställer ett uttag.",
            styles["small"],
        ),
    ]
    header = _Header(
        DOCUMENT_TITLE, DOCUMENT_TITLE, system_name, printed_on, data_as_of, patient, f"Förskrivning {number}"
    )
    return _build(story, header, references)


def render_active_rows_receipt(
    prescriptions: Sequence[ReceiptPrescription], patient: ReceiptPatient, *, system_name: str, printed_on: date,
    data_as_of: datetime | None = None,
) -> bytes:
    """Return a cover sheet with the patient's address followed by all of the patient's active rows."""
    styles = _styles()
    row_count = sum(len(p.rows) for p in prescriptions)
    references = [("Personnummer", format_personnummer(patient.personnummer)), ("Datum", printed_on.isoformat())]
    story: list[Flowable] = [
        Paragraph("Dina aktiva förskrivningar", styles["h1"]),
        Paragraph(
            "Här får du en sammanställning av dina aktiva förskrivningsrader, det vill säga de förskrivna "
            "produkter som du har uttag kvar på. Raderna finns på följande sidor.",
            styles["body"],
        ),
        Paragraph(
            f"Antal förskrivningsrader: {row_count}, från {len(prescriptions)} "
            f"{'förskrivning' if len(prescriptions) == 1 else 'förskrivningar'}.",
            styles["body"],
        ),
        Paragraph(
            "Ange förskrivningsnumret när du beställer ett uttag. Kontakta din förskrivare om något behöver ändras.",
            styles["body"],
        ),
        NextPageTemplate("later"),
        PageBreak(),
        Paragraph("Aktiva förskrivningsrader", styles["h1"]),
    ]
    if not prescriptions:
        story.append(Paragraph("Det finns inga aktiva förskrivningsrader.", styles["body"]))
    for prescription in prescriptions:
        number = _prescription_number(prescription)
        story += [
            KeepTogether([
                Paragraph(f"Förskrivning {escape(number)} – {escape(prescription.product_area_name)}", styles["h2"]),
                _prescription_facts(prescription, styles, with_dates=True),
            ]),
            Spacer(1, 2 * mm),
            _rows_table(prescription.rows, styles),
            Spacer(1, 6 * mm),
        ]
    header = _Header(
        "Följebrev", DOCUMENT_TITLE, system_name, printed_on, data_as_of, patient, "Aktiva förskrivningsrader"
    )
    return _build(story, header, references)


def format_personnummer(personnummer: str) -> str:
    """Return ÅÅÅÅMMDDXXXX as ÅÅÅÅMMDD-XXXX, the way it is written on letters."""
    return f"{personnummer[:8]}-{personnummer[8:]}" if re.fullmatch(r"\d{12}", personnummer) else personnummer


def format_postal_line(postal_code: str | None, city: str | None) -> str:
    """Return the last address line the way PostNord asks: "412 63  Göteborg"."""
    code = (postal_code or "").replace(" ", "")
    code = f"{code[:3]} {code[3:]}" if re.fullmatch(r"\d{5}", code) else (postal_code or "").strip()
    return "  ".join(part for part in (code, (city or "").strip()) if part)


def address_lines(patient: ReceiptPatient) -> list[str]:
    """Return the lines printed in the envelope window."""
    postal_line = format_postal_line(patient.postal_code, patient.city)
    return [line for line in (patient.name.strip(), (patient.street or "").strip(), postal_line) if line]


@dataclass(frozen=True)
class _Header:
    title: str
    later_title: str
    system_name: str
    printed_on: date
    data_as_of: datetime | None
    patient: ReceiptPatient
    continuation: str  # names the document on pages after the first


def _build(story: list[Flowable], header: _Header, references: list[tuple[str, str]]) -> bytes:
    buffer = BytesIO()
    width = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    no_padding = {"leftPadding": 0, "rightPadding": 0, "topPadding": 0}
    # The first page's body starts below the address field; later pages below the header.
    first = Frame(MARGIN_LEFT, 22 * mm, width, PAGE_HEIGHT - 92 * mm - 22 * mm, id="first", **no_padding)
    later = Frame(MARGIN_LEFT, 22 * mm, width, PAGE_HEIGHT - 45 * mm - 22 * mm, id="later", **no_padding)

    def first_page(canvas: Canvas, _doc: Any) -> None:
        _draw_header(canvas, header)
        _draw_references(canvas, references)
        _draw_address(canvas, header.patient)
        _draw_footer(canvas, header.system_name, header.title)

    def later_page(canvas: Canvas, _doc: Any) -> None:
        _draw_header(canvas, header, continued=True)
        _draw_footer(canvas, header.system_name, header.later_title)

    doc = BaseDocTemplate(
        buffer, pagesize=A4, title=DOCUMENT_TITLE, author=header.system_name, creator=header.system_name, subject="",
        lang="sv-SE", leftMargin=MARGIN_LEFT, rightMargin=MARGIN_RIGHT,
    )
    doc.addPageTemplates([
        PageTemplate(id="first", frames=[first], onPage=first_page, autoNextPageTemplate="later"),
        PageTemplate(id="later", frames=[later], onPage=later_page),
    ])
    with rendering():
        doc.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


class _NumberedCanvas(Canvas):
    """Hold pages back until the end so each can say "Sida 1 (3)"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            self.setFont(FONT, 9)
            self.drawRightString(PAGE_WIDTH - MARGIN_RIGHT, PAGE_HEIGHT - 20 * mm, f"Sida {number} ({total})")
            super().showPage()
        super().save()


def _draw_header(canvas: Canvas, header: _Header, continued: bool = False) -> None:
    top = PAGE_HEIGHT - 15 * mm
    canvas.setFont(FONT_BOLD, 12)
    canvas.drawString(MARGIN_LEFT, top, header.system_name)
    canvas.drawString(TAB_RIGHT, top, (header.later_title if continued else header.title).upper())
    canvas.setFont(FONT, 9)
    canvas.drawString(TAB_RIGHT, top - 5 * mm, f"Utskriftsdatum {header.printed_on.isoformat()}")
    if header.data_as_of is not None:
        canvas.drawString(TAB_RIGHT, top - 9.5 * mm, f"Uppgifter per {_local_minute(header.data_as_of)}")
    if continued:
        canvas.drawString(MARGIN_LEFT, top - 5 * mm, header.continuation)
        canvas.drawString(
            MARGIN_LEFT, top - 9.5 * mm,
            f"{header.patient.name}, {format_personnummer(header.patient.personnummer)}",
        )
    canvas.setStrokeColor(colors.HexColor("#9aa5b1"))
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN_LEFT, top - 13 * mm, PAGE_WIDTH - MARGIN_RIGHT, top - 13 * mm)


def _draw_references(canvas: Canvas, references: list[tuple[str, str]]) -> None:
    # Left of the window, so the personnummer never shows through the envelope.
    y = PAGE_HEIGHT - (ADDRESS_FIELD_TOP_MM + 6) * mm
    for label, value in references:
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#52606d"))
        canvas.drawString(MARGIN_LEFT, y, label)
        canvas.setFont(FONT_BOLD, 10)
        canvas.setFillColor(colors.black)
        canvas.drawString(MARGIN_LEFT + 38 * mm, y, value)
        y -= 6.5 * mm


def _draw_address(canvas: Canvas, patient: ReceiptPatient) -> None:
    lines = address_lines(patient)
    available = (ADDRESS_FIELD_WIDTH_MM - 2 * ADDRESS_INSET_MM) * mm
    widest = max((pdfmetrics.stringWidth(line, FONT, ADDRESS_FONT_SIZE) for line in lines), default=0)
    # Shrink a long name rather than let it run past the window; cut it only as a last resort.
    size = max(ADDRESS_MIN_FONT_SIZE, min(ADDRESS_FONT_SIZE, ADDRESS_FONT_SIZE * available / widest if widest else 99))
    leading = size * 1.3
    x = (ADDRESS_FIELD_LEFT_MM + ADDRESS_INSET_MM) * mm
    y = PAGE_HEIGHT - (ADDRESS_FIELD_TOP_MM + ADDRESS_INSET_MM) * mm - size
    canvas.setFont(FONT, size)
    canvas.setFillColor(colors.black)
    for line in lines:
        canvas.drawString(x, y, _fit(line, size, available))
        y -= leading


def _draw_footer(canvas: Canvas, system_name: str, title: str) -> None:
    canvas.setStrokeColor(colors.HexColor("#9aa5b1"))
    canvas.line(MARGIN_LEFT, 16 * mm, PAGE_WIDTH - MARGIN_RIGHT, 16 * mm)
    canvas.setFont(FONT, 8)
    canvas.setFillColor(colors.HexColor("#52606d"))
    canvas.drawString(MARGIN_LEFT, 11 * mm, f"{system_name} · {title}")
    canvas.setFillColor(colors.black)


def _fit(line: str, size: float, width: float) -> str:
    if pdfmetrics.stringWidth(line, FONT, size) <= width:
        return line
    while line and pdfmetrics.stringWidth(line + "…", FONT, size) > width:
        line = line[:-1]
    return line + "…"


def _prescription_facts(
    prescription: ReceiptPrescription, styles: dict[str, ParagraphStyle], with_dates: bool
) -> Flowable:
    facts = [
        ("Förskrivningsdatum", prescription.prescribed_on.isoformat()),
        ("Giltig till och med", prescription_expires_on(prescription.prescribed_on).isoformat()),
    ] if with_dates else []
    facts += [("Förskrivare", prescription.prescriber_name), ("Förskrivande enhet", prescription.unit_name)]
    data = [[Paragraph(escape(label), styles["label"]), Paragraph(escape(value), styles["body"])]
            for label, value in facts]
    table = Table(data, colWidths=[40 * mm, 135 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
    ]))
    return table


def _rows_table(rows: Sequence[ReceiptRow], styles: dict[str, ParagraphStyle]) -> Flowable:
    head = ["Artikelnr", "Benämning", "Förp. storlek", "Förp. per uttag", "Antal uttag", "Period per uttag"]
    data: list[list[Any]] = [[Paragraph(text, styles["th" if i < 2 else "th_num"]) for i, text in enumerate(head)]]
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e7eb")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.HexColor("#52606d")),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    for row in rows:
        withdrawals = str(row.withdrawals)
        if row.withdrawals_left is not None:
            withdrawals += f" ({row.withdrawals_left} kvar)"
        data.append([
            Paragraph(escape(row.article_number), styles["td"]),
            Paragraph(escape(row.article_name), styles["td"]),
            Paragraph(f"{row.package_size} st", styles["td_num"]),
            Paragraph(str(row.packages_per_withdrawal), styles["td_num"]),
            Paragraph(withdrawals, styles["td_num"]),
            Paragraph(f"{row.period_days} dagar", styles["td_num"]),
        ])
        notes = []
        if row.status_note:
            notes.append(f"<b>{escape(row.status_note)}</b>")
        if row.recommendation:
            notes.append(f"<b>Rekommendation:</b> {escape(row.recommendation)}".replace("\n", "<br/>"))
        if notes:
            data.append(["", Paragraph("<br/>".join(notes), styles["note"]), "", "", "", ""])
            index = len(data) - 1
            commands.append(("SPAN", (1, index), (-1, index)))
            commands.append(("NOSPLIT", (0, index - 1), (-1, index)))  # a note never strays from its row
            commands.append(("TOPPADDING", (0, index), (-1, index), 0))
        commands.append(("LINEBELOW", (0, len(data) - 1), (-1, len(data) - 1), 0.25, colors.HexColor("#cbd2d9")))
    table = Table(data, colWidths=[22 * mm, 63 * mm, 20 * mm, 22 * mm, 22 * mm, 26 * mm], repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


def _prescription_number(prescription: ReceiptPrescription) -> str:
    return prescription.number or "inväntar registrering"


def _local_minute(moment: datetime) -> str:
    # Stored moments are naive UTC (core.clock); shown in Swedish time.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(STOCKHOLM).strftime("%Y-%m-%d kl. %H.%M")


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()  # paragraphs resolve their font as soon as they are made
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13.5, spaceAfter=4)
    return {
        "body": body,
        "h1": ParagraphStyle("h1", body, fontName=FONT_BOLD, fontSize=14, leading=18, spaceAfter=6),
        "h2": ParagraphStyle("h2", body, fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=2, spaceAfter=3),
        "label": ParagraphStyle("label", body, fontSize=9, textColor=colors.HexColor("#52606d"), spaceAfter=0),
        "small": ParagraphStyle("small", body, fontSize=8.5, leading=11, textColor=colors.HexColor("#3e4c59")),
        "th": ParagraphStyle("th", body, fontName=FONT_BOLD, fontSize=8.5, leading=10.5, spaceAfter=0),
        "th_num": ParagraphStyle("th_num", body, fontName=FONT_BOLD, fontSize=8.5, leading=10.5, spaceAfter=0,
                                 alignment=2),
        "td": ParagraphStyle("td", body, fontSize=9, leading=11.5, spaceAfter=0),
        "td_num": ParagraphStyle("td_num", body, fontSize=9, leading=11.5, spaceAfter=0, alignment=2),
        "note": ParagraphStyle("note", body, fontSize=9, leading=11.5, spaceAfter=0),
    }
