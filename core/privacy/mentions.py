"""Which words of a free text could name a patient or a street address; plain functions.

Seed 004: an e-mailed order may carry no personal data at all. "Till Svea Samuelsson,
Kungsgatan 15" names a patient without a personnummer; the store decides whether the
name or the address is a patient's, these functions only say what to ask it.
"""
from __future__ import annotations

import re
WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# A street as written: one to three words and a house number, e.g. "Stora Nygatan 3 B".
STREET = re.compile(r"(?<![\w.'’-])((?:[^\W\d_][\w.'’-]*[ \u00a0]+){1,3})(\d{1,4})(?!\d)([ \u00a0]?[A-Za-z](?!\w))?")
_HOUSE_LETTER = re.compile(r"(\d) (\w)$")


def words(text: str) -> list[str]:
    """Return the words of the text (letters, inner hyphens and apostrophes), in order."""
    return WORD.findall(text or "")


def spellings(word: str) -> set[str]:
    """Return the ways a surname may be stored, so the lookup can use the name index as it is."""
    return {word, word.lower(), word.upper(), word.capitalize(), word.title()}


def surname_candidates(text: str) -> set[str]:
    """Return every spelling of every word that could be a surname (two letters or more)."""
    return {spelling for word in set(words(text)) if len(word) >= 2 for spelling in spellings(word)}


def street_candidates(text: str) -> set[str]:
    """Return each run of up to three words and a house number, its shorter tails, in the ways it may be stored."""
    written: set[str] = set()
    for match in STREET.finditer(text or ""):
        words_before, number, letter = match.group(1).split(), match.group(2), match.group(3) or ""
        for first in range(len(words_before)):
            street = " ".join([*words_before[first:], number])
            written |= {street, f"{street}{letter}"}  # "Kungsgatan 15 i Lund": number 15 or 15 I
    return {spelling for street in written for spelling in _street_spellings(street)}


def _street_spellings(street: str) -> set[str]:
    joined = _HOUSE_LETTER.sub(r"\1\2", street)  # "3 B" is also stored as "3B"
    spaced = re.sub(r"(\d)([^\W\d_])$", r"\1 \2", street)
    return {spelling for form in (street, joined, spaced) for spelling in spellings(form)}


def names_patient(text: str, first_name: str, last_name: str) -> bool:
    """Return whether the text holds the patient's full name: a first name and the surname, whole words."""
    given = [first_name] + (first_name.split() if " " in first_name.strip() else [])
    for first in given:
        pattern = rf"(?<!\w){_words_pattern(first)}\s+{_words_pattern(last_name)}(?!\w)"
        if re.search(pattern, text, re.IGNORECASE):
            return True
    return False


def _words_pattern(name: str) -> str:
    return r"\s+".join(re.escape(part) for part in name.split())
