"""PDF receipts: read back with pypdf; no app, no database."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from datetime import date, datetime

import pytest
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from app.prescribing.receipts import (
    ADDRESS_FIELD_HEIGHT_MM, ADDRESS_FIELD_LEFT_MM, ADDRESS_FIELD_TOP_MM, ADDRESS_FIELD_WIDTH_MM, FONT,
    ReceiptPatient, ReceiptPrescription, ReceiptRow, format_postal_line, render_active_rows_receipt,
    render_prescription_receipt,
)

PAGE_HEIGHT_MM = 297
PRINTED_ON = date(2025, 3, 14)
SYSTEM = "Förskrivningsportalen"
PATIENT = ReceiptPatient(
    name="Åsa Öberg-Ärlig", street="Västra Hamngatan 12 lgh 1102", postal_code="41117", city="Göteborg",
    personnummer="191212121212",
)
RECOMMENDATION = "Byt skydd vid behov, minst två gånger per dygn. Förvara torrt & svalt (< 25 °C); é-test."
PAD_ROW = ReceiptRow(
    article_number="123456", article_name="Inkontinensskydd Lady Extra", package_size=10,
    packages_per_withdrawal=18, withdrawals=4, period_days=90, recommendation=RECOMMENDATION,
)
DRINK_ROW = ReceiptRow(
    article_number="234567", article_name="Näringsdryck jordgubb 200 ml", package_size=4,
    packages_per_withdrawal=23, withdrawals=4, period_days=90, status_note="Inväntar registrering",
    withdrawals_left=3,
)
PRESCRIPTION = ReceiptPrescription(
    number="194405116", prescribed_on=date(2025, 3, 14), prescriber_name="Karin Förskrivare",
    unit_name="Vårdcentralen Sävedalen", product_area_name="Inkontinens", rows=(PAD_ROW, DRINK_ROW),
)
NUTRITION = ReceiptPrescription(
    number="194405117", prescribed_on=date(2024, 2, 29), prescriber_name="Per Ström",
    unit_name="Hemsjukvården Öckerö", product_area_name="Nutrition", rows=(DRINK_ROW,),
)


@dataclass(frozen=True)
class Chunk:
    text: str
    x_mm: float
    top_mm: float  # baseline, measured from the top edge as envelope conventions are
    right_mm: float


def _receipt(**overrides: object) -> bytes:
    arguments: dict[str, object] = {"system_name": SYSTEM, "printed_on": PRINTED_ON}
    arguments.update(overrides)
    return render_prescription_receipt(PRESCRIPTION, PATIENT, **arguments)  # type: ignore[arg-type]


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _chunks(pdf: bytes, page: int = 0) -> list[Chunk]:
    found: list[Chunk] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        text = text.strip()
        if not text:
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        width = pdfmetrics.stringWidth(text, FONT, size)
        found.append(Chunk(text, x / mm, PAGE_HEIGHT_MM - y / mm, (x + width) / mm))

    PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return found


def _inside_window(chunk: Chunk) -> bool:
    return (
        ADDRESS_FIELD_LEFT_MM <= chunk.x_mm
        and chunk.right_mm <= ADDRESS_FIELD_LEFT_MM + ADDRESS_FIELD_WIDTH_MM
        and ADDRESS_FIELD_TOP_MM < chunk.top_mm < ADDRESS_FIELD_TOP_MM + ADDRESS_FIELD_HEIGHT_MM
    )


def test_receipt_shows_name_and_address_with_swedish_characters_exactly() -> None:
    text = _pages(_receipt())[0]
    assert "Åsa Öberg-Ärlig" in text
    assert "Västra Hamngatan 12 lgh 1102" in text
    assert re.search(r"411 17\s+Göteborg", text)
    assert "FÖRSKRIVNINGSKVITTO" in text


def test_receipt_address_sits_inside_the_envelope_window() -> None:
    window = [chunk for chunk in _chunks(_receipt()) if _inside_window(chunk)]
    assert [chunk.text for chunk in window] == ["Åsa Öberg-Ärlig", "Västra Hamngatan 12 lgh 1102", "411 17  Göteborg"]


def test_personnummer_stays_outside_the_envelope_window() -> None:
    chunks = _chunks(_receipt())
    personnummer = [chunk for chunk in chunks if chunk.text == "19121212-1212"]
    assert personnummer and not any(_inside_window(chunk) for chunk in personnummer)
    assert [chunk.text for chunk in chunks if _inside_window(chunk)][0] == PATIENT.name


def test_a_long_name_is_shrunk_or_cut_to_stay_inside_the_window() -> None:
    patient = replace(PATIENT, name="Anna-Karin Margareta Östergren-Åkerlund af Söderblom von Ärlebäck")
    pdf = render_prescription_receipt(PRESCRIPTION, patient, system_name=SYSTEM, printed_on=PRINTED_ON)
    lines = [chunk for chunk in _chunks(pdf) if ADDRESS_FIELD_LEFT_MM <= chunk.x_mm and 48 < chunk.top_mm < 78]
    assert len(lines) == 3
    assert all(_inside_window(chunk) for chunk in lines)
    assert lines[0].text.startswith("Anna-Karin Margareta")


def test_receipt_prints_prescription_number_rows_and_recommendation() -> None:
    text = _pages(_receipt())[0]
    assert "194405116" in text
    assert "Inkontinensskydd Lady Extra" in text
    assert "Näringsdryck jordgubb 200 ml" in text
    assert re.sub(r"\s+", " ", RECOMMENDATION) in re.sub(r"\s+", " ", text)  # & and < printed as written
    assert "Inväntar registrering" in text
    assert "4 (3 kvar)" in text
    assert "2026-03-14" in text  # last valid day


def test_receipt_shows_when_its_data_is_from() -> None:
    text = _pages(_receipt(data_as_of=datetime(2025, 3, 14, 9, 32)))[0]  # naive UTC, as stored
    assert "Uppgifter per 2025-03-14 kl. 10.32" in text
    assert "Uppgifter per" not in _pages(_receipt())[0]


def test_receipt_metadata_names_no_patient() -> None:
    metadata = PdfReader(io.BytesIO(_receipt())).metadata
    assert metadata is not None and metadata.title == "Förskrivningskvitto"
    values = " ".join(str(value) for value in metadata.values())
    for personal in ("Åsa", "Öberg", "191212", "Hamngatan", "Karin"):
        assert personal not in values


def test_receipt_awaiting_registration_has_no_number_yet() -> None:
    pending = replace(PRESCRIPTION, number=None)
    pdf = render_prescription_receipt(pending, PATIENT, system_name=SYSTEM, printed_on=PRINTED_ON)
    assert "inväntar registrering" in _pages(pdf)[0]


@pytest.mark.parametrize("number", ["12345678", "1234567890", "19440511A", ""])
def test_prescription_number_must_be_nine_digits(number: str) -> None:
    with pytest.raises(ValueError, match="nio siffror"):
        replace(PRESCRIPTION, number=number)


def test_many_rows_flow_onto_numbered_pages() -> None:
    many = replace(PRESCRIPTION, rows=(PAD_ROW, DRINK_ROW) * 15)
    pages = _pages(render_prescription_receipt(many, PATIENT, system_name=SYSTEM, printed_on=PRINTED_ON))
    assert len(pages) > 1
    assert f"Sida 1 ({len(pages)})" in pages[0]
    assert f"Sida {len(pages)} ({len(pages)})" in pages[-1]
    assert "Förskrivning 194405116" in pages[1]  # later pages say what they belong to
    assert "Västra Hamngatan" not in pages[1]  # the address is printed once, for the window


def test_active_rows_start_with_a_cover_sheet_addressed_for_the_window() -> None:
    pdf = render_active_rows_receipt([PRESCRIPTION, NUTRITION], PATIENT, system_name=SYSTEM, printed_on=PRINTED_ON)
    pages = _pages(pdf)
    assert len(pages) >= 2
    cover = pages[0]
    assert "FÖLJEBREV" in cover and "Dina aktiva förskrivningar" in cover
    assert "Antal förskrivningsrader: 3, från 2 förskrivningar." in cover
    assert "Inkontinensskydd" not in cover  # rows follow on their own pages
    window = [chunk.text for chunk in _chunks(pdf, page=0) if _inside_window(chunk)]
    assert window == ["Åsa Öberg-Ärlig", "Västra Hamngatan 12 lgh 1102", "411 17  Göteborg"]


def test_active_rows_list_every_prescription_and_its_rows_after_the_cover() -> None:
    pdf = render_active_rows_receipt([PRESCRIPTION, NUTRITION], PATIENT, system_name=SYSTEM, printed_on=PRINTED_ON)
    rows_text = re.sub(r"\s+", " ", " ".join(_pages(pdf)[1:]))
    assert "Aktiva förskrivningsrader" in rows_text
    assert "Förskrivning 194405116 – Inkontinens" in rows_text
    assert "Förskrivning 194405117 – Nutrition" in rows_text
    assert "Inkontinensskydd Lady Extra" in rows_text
    assert re.sub(r"\s+", " ", RECOMMENDATION) in rows_text
    assert "2025-02-28" in rows_text  # prescribed 29 February 2024, valid through 28 February 2025
    assert "Åsa Öberg-Ärlig, 19121212-1212" in rows_text  # pages after the cover name the patient


def test_active_rows_without_any_rows_say_so() -> None:
    pdf = render_active_rows_receipt([], PATIENT, system_name=SYSTEM, printed_on=PRINTED_ON)
    assert "Det finns inga aktiva förskrivningsrader." in " ".join(_pages(pdf))


@pytest.mark.parametrize(
    ("postal_code", "city", "line"),
    [("41117", "Göteborg", "411 17  Göteborg"), ("411 17", "Göteborg", "411 17  Göteborg"),
     (None, "Göteborg", "Göteborg"), ("DK-2100", "København Ø", "DK-2100  København Ø")],
)
def test_postal_line_follows_the_swedish_address_convention(postal_code: str | None, city: str, line: str) -> None:
    assert format_postal_line(postal_code, city) == line


def test_reportlab_formats_pdfs_with_its_c_accelerators():
    # Without rl_accel reportlab falls back to Python for every number it writes: a third more work per receipt.
    from reportlab.lib import rl_accel

    assert {"fp_str", "escapePDF", "instanceStringWidthTTF", "calcChecksum"} <= set(rl_accel._c_funcs)
