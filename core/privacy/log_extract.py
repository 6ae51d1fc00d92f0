"""The patient's log extract (logutdrag): who saw their personal data, when and on which screen, as A4 PDF."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.pdf import FONT, FONT_BOLD, register_fonts, rendering
from core.privacy.log_report import LogLine

TITLE = "Logutdrag"  # also the PDF title: metadata never names the patient
MARGIN = 18 * mm
COLUMN_WIDTHS = (35 * mm, 43 * mm, 30 * mm, 36 * mm, 30 * mm)  # 174 mm: A4 less the margins


@dataclass(frozen=True)
class ExtractRequest:
    patient_name: str
    personnummer: str  # ÅÅÅÅMMDD-XXXX
    period_from: date
    period_to: date
    printed_on: date
    printed_by: str
    system_name: str


def render_log_extract(request: ExtractRequest, lines: Sequence[LogLine]) -> bytes:
    """Return the extract as PDF bytes: a heading with patient and period, then one table row per access."""
    register_fonts()
    buffer = BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                                 bottomMargin=MARGIN + 6 * mm, title=TITLE, author=request.system_name)
    with rendering():
        document.build(_story(request, lines), onFirstPage=_footer(request), onLaterPages=_footer(request))
    return buffer.getvalue()


def _story(request: ExtractRequest, lines: Sequence[LogLine]) -> list:
    styles = _styles()
    period = f"{request.period_from:%Y-%m-%d} – {request.period_to:%Y-%m-%d}"
    story = [
        Paragraph("Logutdrag – åtkomst till dina patientuppgifter", styles["title"]),
        _facts((("Patient", request.patient_name), ("Personnummer", request.personnummer), ("Period", period),
                ("Utskrivet", f"{request.printed_on:%Y-%m-%d} av {request.printed_by}")), styles),
        Spacer(1, 5 * mm),
        Paragraph(
            f"Utdraget visar varje gång någon har tagit del av dina personuppgifter i {escape(request.system_name)} "
            "under perioden: vem (namn, roll och enhet), när och i vilken vy. Uppgifterna kommer ur den "
            "åtkomstlogg som regionen för enligt patientdatalagen.", styles["body"]),
        Spacer(1, 5 * mm),
    ]
    if not lines:
        story.append(Paragraph("Ingen har tagit del av dina uppgifter under perioden.", styles["body"]))
        return story
    story.append(Paragraph(f"Antal åtkomster: {len(lines)}", styles["body"]))
    story.append(Spacer(1, 3 * mm))
    story.append(_table(lines, styles))
    return story


def _facts(pairs: Sequence[tuple[str, str]], styles: dict[str, ParagraphStyle]) -> Table:
    rows = [[Paragraph(label, styles["label"]), Paragraph(escape(value), styles["body"])] for label, value in pairs]
    table = Table(rows, colWidths=(36 * mm, 138 * mm), hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _table(lines: Sequence[LogLine], styles: dict[str, ParagraphStyle]) -> Table:
    cell = styles["cell"]
    header = [Paragraph(h, styles["head"]) for h in ("När", "Vem", "Roll", "Enhet", "Vy")]
    rows = [header] + [
        [Paragraph(line.at, cell), Paragraph(f"{escape(line.user_name)}<br/>({escape(line.username)})", cell),
         Paragraph(escape(line.roles), cell), Paragraph(escape(line.units) or "–", cell),
         Paragraph(escape(line.screen), cell)]
        for line in lines
    ]
    table = Table(rows, colWidths=COLUMN_WIDTHS, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.grey),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), (colors.white, colors.HexColor("#f2f2f2"))),
    ]))
    return table


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13)
    return {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=5 * mm),
        "body": body,
        "label": ParagraphStyle("label", parent=body, fontName=FONT_BOLD),
        "head": ParagraphStyle("head", fontName=FONT_BOLD, fontSize=9, leading=11),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10),
    }


def _footer(request: ExtractRequest):
    def draw(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawString(MARGIN, 10 * mm, f"{request.system_name} – {TITLE} för {request.personnummer}")
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, f"Sida {document.page}")
        canvas.restoreState()

    return draw
