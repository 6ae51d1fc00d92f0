"""PDF fonts shared by every printout (receipts, the reserve kit, reconciliation, log extracts).

Bitstream Vera ships inside reportlab, so a bare machine renders å ä ö é without system fonts.
DejaVu Sans (a superset with wider Latin coverage) is preferred when committed under
app/static/fonts. Registered at first render, never at import.
"""
from __future__ import annotations

from pathlib import Path

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont

FONT = "PortalSans"
FONT_BOLD = "PortalSans-Bold"
FONT_VARIANTS = (FONT, FONT_BOLD, "PortalSans-Italic", "PortalSans-BoldItalic")
_FONT_DIRS = (Path(__file__).resolve().parents[1] / "app" / "static" / "fonts",
              Path(reportlab.__file__).parent / "fonts")
_FONT_FILES = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf"),
    ("Vera.ttf", "VeraBd.ttf", "VeraIt.ttf", "VeraBI.ttf"),
)


def register_fonts() -> None:
    """Register the family (normal, bold, italic, bold italic) once per process."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for directory in _FONT_DIRS:
        paths_by_family = ([directory / name for name in files] for files in _FONT_FILES)
        for paths in paths_by_family:
            if all(path.is_file() for path in paths):
                for name, path in zip(FONT_VARIANTS, paths):
                    pdfmetrics.registerFont(TTFont(name, str(path)))
                normal, bold, italic, bold_italic = FONT_VARIANTS
                registerFontFamily(FONT, normal=normal, bold=bold, italic=italic, boldItalic=bold_italic)
                return
    raise RuntimeError("no TrueType font with Swedish characters found for PDFs")
