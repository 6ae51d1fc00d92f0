"""PDF fonts shared by every printout (receipts, the reserve kit, reconciliation, log extracts).

Bitstream Vera ships inside reportlab, so a bare machine renders å ä ö é without system fonts.
DejaVu Sans (a superset with wider Latin coverage) is preferred when committed under
app/static/fonts. Registered at first render, never at import.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


_ONE_RENDER_AT_A_TIME = threading.RLock()  # re-entrant: a render may build a part of itself


@contextmanager
def rendering() -> Iterator[None]:
    """Register the fonts, then hold this process's one PDF render at a time while the block draws and saves.

    reportlab subsets a TrueType font by reading the font file through one position shared by every
    thread (`TTFontFile._pos`), so two threads of a web worker saving at once garbled each other's
    subset: an IndexError in `makeSubset`, a 500 for 2 in 1,000 receipts at four clients. The GIL
    lets only one thread run Python anyway, so a render waits about as long as before.
    """
    with _ONE_RENDER_AT_A_TIME:
        register_fonts()
        yield
