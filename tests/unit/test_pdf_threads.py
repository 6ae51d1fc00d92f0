"""PDFs rendered by several threads of one web worker at once (granian runs 8 per worker)."""
from __future__ import annotations

import io
import string
import sys
from concurrent.futures import ThreadPoolExecutor

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from core.pdf import FONT, FONT_BOLD, rendering


def _render(seed: int) -> bytes:
    """A page whose text uses a different set of glyphs per seed, so each document has its own font subset."""
    letters = string.ascii_letters + "åäöÅÄÖéü0123456789"
    text = "".join(letters[(seed * 7 + i * 3) % len(letters)] for i in range(60))
    buffer = io.BytesIO()
    with rendering():
        canvas = Canvas(buffer, pagesize=A4)
        for line in range(40):
            canvas.setFont(FONT_BOLD if line % 2 else FONT, 10)
            canvas.drawString(40, 800 - line * 18, text[line % 20:] + text[:line % 20])
        canvas.save()
    return buffer.getvalue()


def test_pdfs_rendered_by_many_threads_at_once_are_all_whole():
    # reportlab subsets a TrueType font through one read position shared by the whole process; two
    # threads saving at once garbled each other's subset (IndexError in makeSubset: a 500 for a receipt).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns often, as in a busy worker
    try:
        with ThreadPoolExecutor(8) as pool:
            documents = list(pool.map(_render, range(1000)))
    finally:
        sys.setswitchinterval(switch)
    assert all(d.startswith(b"%PDF-") and d.rstrip().endswith(b"%%EOF") for d in documents)
