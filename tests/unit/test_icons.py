"""Icons render without emoji fonts: no template uses emoji or dingbat characters; inline SVG instead."""
from __future__ import annotations

import re
from pathlib import Path

from core.web.icons import icon

ROOT = Path(__file__).resolve().parents[2]
# Emoji and pictographs, dingbats (✎ ✕), miscellaneous symbols: each needs a font the region's PCs may lack.
PICTOGRAPHS = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]")


def test_no_template_draws_with_emoji_or_dingbats() -> None:
    found = [f"{path.relative_to(ROOT)}:{number}: {match.group()}"
             for package in ("core", "app", "status", "sync", "reserve")
             for path in (ROOT / package).glob("**/templates/**/*.html")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for match in PICTOGRAPHS.finditer(line)]
    assert found == []


def test_an_icon_is_inline_svg_hidden_from_screen_readers() -> None:
    svg = str(icon("edit"))
    assert svg.startswith("<svg") and 'aria-hidden="true"' in svg and 'focusable="false"' in svg
