"""Icons as inline SVG: they render without emoji fonts, and each sits beside a text or an aria-label."""
from __future__ import annotations

from markupsafe import Markup

# 16×16 strokes in the current text colour.
_PATHS = {
    "edit": '<path d="M3 13l1-3.5L11 2.5l2.5 2.5L6.5 12 3 13z"/><path d="M9.5 4l2.5 2.5"/>',
    "close": '<path d="M4 4l8 8M12 4l-8 8"/>',
    "eye": '<path d="M1.5 8S4 3.5 8 3.5 14.5 8 14.5 8 12 12.5 8 12.5 1.5 8 1.5 8z"/><circle cx="8" cy="8" r="2"/>',
    "leaf": '<path d="M3 13C3 7 7 3 13 3c0 6-4 10-10 10z"/><path d="M3 13l6-6"/>',
}


def icon(name: str) -> Markup:
    """Return the named icon as inline SVG, hidden from screen readers (the text beside it says it)."""
    return Markup(f'<svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" '
                  f'focusable="false" fill="none" stroke="currentColor" stroke-width="1.6" '
                  f'stroke-linecap="round" stroke-linejoin="round">{_PATHS[name]}</svg>')
