"""Find personnummer and samordningsnummer in free text, in any way people write them; plain functions.

People write `195201182911`, `19520118-2911`, `19520118 2911`, `520118 2911`, `1952.01.18-2911`,
`520118–2911` (en dash), `520118+2911` (over a hundred years old). A candidate is any such shape;
it counts as personal data when the `personnummer` library accepts its digits, so order numbers,
phone numbers, article numbers and dates pass.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from personnummer import personnummer as _lib

# Hyphen-minus, hyphen, non-breaking hyphen, figure dash, en dash, em dash, minus sign, plus.
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212+"
_SPACE = r"[ \u00a0\u202f]"
# Optional century, then YY MM DD (a dot or a space between them allowed), then the separator
# (spaces and/or one dash), then the four last digits. No digit may touch either end.
CANDIDATE = re.compile(
    rf"(?<![\d.])(?P<century>\d{{2}})?(?P<yy>\d{{2}})(?:\.|{_SPACE})?(?P<mm>\d{{2}})(?:\.|{_SPACE})?(?P<dd>\d{{2}})"
    rf"{_SPACE}?(?P<sep>[{re.escape(DASHES)}])?{_SPACE}?(?P<last>\d{{4}})(?![\d])"
)
REDACTED = "[personnummer]"


@dataclass(frozen=True)
class Found:
    """One personnummer as written: where it is and its digits in the library's form."""

    start: int
    end: int
    digits: str


def _library_form(match: re.Match[str]) -> str:
    """Return the candidate as the library reads it: digits, with '+' kept for the over-hundreds."""
    date = f"{match['century'] or ''}{match['yy']}{match['mm']}{match['dd']}"
    separator = "+" if match["sep"] == "+" and not match["century"] else ""
    return f"{date}{separator}{match['last']}"


def find_personnummer(text: str, *, validated: bool = True) -> list[Found]:
    """Return every personnummer or samordningsnummer written in the text.

    With `validated=False` every candidate shape is returned (the log filter redacts even a
    mistyped personnummer); otherwise only those with a valid date and check digit.
    """
    found = []
    for match in CANDIDATE.finditer(text or ""):
        digits = _library_form(match)
        if not validated or _lib.valid(digits):
            found.append(Found(match.start(), match.end(), digits))
    return found


def contains_personnummer(*texts: str | None) -> bool:
    """Return whether any of the texts holds a valid personnummer or samordningsnummer."""
    return any(find_personnummer(text or "") for text in texts)


def redact_personnummer(text: str, *, validated: bool = False) -> str:
    """Return the text with every personnummer-shaped candidate (by default) replaced."""
    pieces, position = [], 0
    for found in find_personnummer(text, validated=validated):
        pieces += [text[position:found.start], REDACTED]
        position = found.end
    return "".join(pieces) + text[position:]
