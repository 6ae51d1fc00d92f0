"""Patient search criteria: what the prescriber typed, parsed into one of four kinds; no Flask."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.errors import ValidationFailed
from core.privacy.personnummer import InvalidPersonnummer, validate_personnummer


class SearchKind(str, Enum):
    FULL = "full"  # a whole personnummer
    PREFIX = "prefix"  # leading digits, e.g. 1901 = born 1901
    MINE = "mine"  # empty: every patient the prescriber has prescribed to
    ARTICLE = "article"  # advanced: patients with an article prescribed


class RowState(str, Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    BOTH = "both"


@dataclass(frozen=True)
class PatientCriteria:
    kind: SearchKind
    text: str = ""
    article_number: str = ""
    row_state: RowState = RowState.ACTIVE

    @property
    def prefix_range(self) -> tuple[str, str]:
        """Return [low, high) covering every personnummer that starts with the text."""
        # ':' sorts right after '9', so the range is one index scan in any collation of digits.
        return self.text, self.text + ":"


def parse_criteria(text: str = "", article_number: str = "", row_state: str = "active") -> PatientCriteria:
    """Return the search the user meant, or raise ValidationFailed naming the field."""
    text = (text or "").strip()
    article_number = (article_number or "").strip()
    try:
        state = RowState(row_state or RowState.ACTIVE.value)
    except ValueError:
        raise ValidationFailed.single("rows", "Välj aktiva, inaktiva eller båda.") from None
    if text and not text.isdigit():
        raise ValidationFailed.single("q", "Ange personnummer (ÅÅÅÅMMDDXXXX) eller början av det, bara siffror.")
    if len(text) > 12:
        raise ValidationFailed.single("q", "Ett personnummer har 12 siffror.")
    if article_number and (len(article_number) > 20 or not article_number.isalnum()):
        raise ValidationFailed.single("article", "Ange ett artikelnummer.")
    if len(text) == 12:
        try:
            validate_personnummer(text)
        except InvalidPersonnummer as exc:
            raise ValidationFailed.single("q", str(exc)) from None
    if article_number:
        return PatientCriteria(SearchKind.ARTICLE, text, article_number, state)
    if len(text) == 12:
        return PatientCriteria(SearchKind.FULL, text)
    if text:
        return PatientCriteria(SearchKind.PREFIX, text)
    return PatientCriteria(SearchKind.MINE)
