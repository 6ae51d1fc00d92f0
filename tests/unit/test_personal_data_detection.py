"""Personnummer in every written form are found; numbers that are not personnummer pass."""
from __future__ import annotations

from datetime import date

from hypothesis import given, strategies as st
from personnummer import personnummer as library

from core.logging_setup import redact
from core.privacy.detection import contains_personnummer, find_personnummer, redact_personnummer
from core.privacy.mentions import names_patient, street_candidates, surname_candidates
from core.privacy.personnummer import check_digit

SEPARATORS = ["", "-", " ", "–", "—", "‐", " - ", " – "]


@st.composite
def personnummer(draw) -> tuple[date, str, bool]:
    """Return a valid personnummer or samordningsnummer: birth date, the last four digits, coordination?"""
    born = draw(st.dates(min_value=date(1901, 1, 1), max_value=date(2025, 12, 31)))
    coordination = draw(st.booleans())
    day = born.day + (60 if coordination else 0)
    serial = draw(st.integers(min_value=1, max_value=999))  # 000 is never issued
    nine = f"{born:%y%m}{day:02d}{serial:03d}"
    return born, f"{serial:03d}{check_digit(nine)}", day


def written_forms(born: date, last: str, day: int, separator: str, dotted: bool) -> list[str]:
    yymmdd = f"{born:%y}.{born:%m}.{day:02d}" if dotted else f"{born:%y%m}{day:02d}"
    return [f"{born:%Y}"[:2] + yymmdd + separator + last, yymmdd + separator + last]


@given(personnummer(), st.sampled_from(SEPARATORS), st.booleans(),
       st.sampled_from(["Gäller {} omgående", "{}", "({})", "pat. {}, rullator"]))
def test_a_valid_personnummer_is_found_in_every_written_form(number, separator, dotted, sentence):
    born, last, day = number
    for written in written_forms(born, last, day, separator, dotted):
        text = sentence.format(written)
        assert contains_personnummer(text), text
        assert "[personnummer]" in redact(text) and last not in redact(text)


@given(st.from_regex(r"\A\d{10}\Z|\A\d{12}\Z"), st.sampled_from(["", "-", " "]))
def test_a_digit_string_that_is_not_a_valid_personnummer_passes(digits, separator):
    written = digits[:-4] + separator + digits[-4:]
    assert contains_personnummer(f"Order {written} klar") == library.valid(digits)


def test_the_forms_that_passed_before_are_found():
    for text in ("19520118 2911", "520118 2911", "1952.01.18-2911", "520118–2911", "520118+2911", "195201182911"):
        assert contains_personnummer(f"Meddelande: {text}."), text


def test_ordinary_numbers_pass():
    for text in ("Ring Kundservice 010-473 80 80", "order 123456 qty 20", "artikel 200101", "Åter 2026-12-07 kl 14.30",
                 "ordernr 4103149806", "070-123 45 67", "Beräknat 07.12.2026", "30 000 förpackningar"):
        assert not contains_personnummer(text), text


def test_the_log_redacts_even_a_mistyped_personnummer():
    assert redact("GET /patient?q=410314-9806") == "GET /patient?q=[personnummer]"
    assert redact_personnummer("410314-9806", validated=True) == "410314-9806"
    assert find_personnummer("a 19121212-1212 b 19520118 2911")[1].digits == "195201182911"


def test_a_patients_full_name_is_a_whole_word_match_in_any_case():
    assert names_patient("Till SVEA  samuelsson, Kungsgatan 15", "Svea", "Samuelsson")
    assert names_patient("Hämtas hos Maria Berg-Ek", "Anna Maria", "Berg-Ek")
    assert not names_patient("Svea Samuelssons rullator", "Svea", "Samuelsson")
    assert not names_patient("Samuelsson ringde", "Svea", "Samuelsson")
    assert {"Samuelsson", "samuelsson"} <= surname_candidates("till SAMUELSSON")


def test_street_candidates_are_words_and_a_house_number_in_the_ways_they_may_be_stored():
    assert "Kungsgatan 15" in street_candidates("Till Svea Samuelsson, kungsgatan 15 i Lund")
    assert {"Stora Nygatan 3B", "Stora Nygatan 3 B"} <= street_candidates("stora nygatan 3 b")
    assert street_candidates("Inga adresser här, 42 st.") == set()
