"""The printable kit: blank forms with reserved numbers and QR codes, per-unit lists, runbook sheets."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO

import pypdf
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select

from core.clock import utcnow
from core.extensions import db
from core.models import AccessLogEntry
from core.privacy.access_journal import ingest_pending
from reserve import RUNBOOK_DIR, kit, pdf
from reserve.models import Kit, ReserveNumber
from reserve.rules import WORK_ORDER_TYPES
from reserve.runbooks import load_runbooks
from tests import factories
from tests.conftest import login
from tests.service.reserve.conftest import LAST_GOOD_PROBE, probe

HEADER = pdf.KitHeader("Förskrivningsportalen", datetime(2026, 11, 2, 8, 0), datetime(2026, 11, 2, 7, 59))


def pages(data: bytes) -> list[str]:
    """Return each page's text with its line breaks as spaces (a wrapped title is still found)."""
    return [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(BytesIO(data)).pages]


def assert_every_page_says(data: bytes, *texts: str) -> list[str]:
    found = pages(data)
    assert found and all(text in page for page in found for text in texts), (texts, found)
    return found


def _drawn_rectangles(data: bytes) -> list[set[bytes]]:
    """Return each page's filled and stroked rectangles as drawn (a QR code's dark modules are such)."""
    return [{line for line in page.get_contents().get_data().splitlines() if b" re" in line}
            for page in pypdf.PdfReader(BytesIO(data)).pages]


def _qr_code(value: str) -> set[bytes]:
    """Return the rectangles of the QR code of `value` as the kit draws it (position is set apart, by `cm`)."""
    buffer = BytesIO()
    canvas = Canvas(buffer)
    pdf.draw_qr(canvas, value, 0, 0, pdf.QR_SIZE)
    canvas.save()
    return _drawn_rectangles(buffer.getvalue())[0]


def test_each_blank_form_carries_its_reserve_number_and_data_as_of():
    texts = assert_every_page_says(pdf.render_order_forms(["R10000001", "R10000002"], HEADER),
                                   "Uppgifter per 2026-11-02 kl. 08.59", "Beställning")
    assert len(texts) == 2 and "R10000001" in texts[0] and "R10000002" in texts[1]
    texts = assert_every_page_says(
        pdf.render_work_order_forms(["R10000003", "R10000004"], HEADER, list(WORK_ORDER_TYPES.values())),
        "Uppgifter per 2026-11-02 kl. 08.59", "Arbetsordertyp", "Reparation", "Besiktning")
    assert len(texts) == 2 and "R10000003" in texts[0] and "R10000004" in texts[1]


def test_each_form_draws_the_qr_code_of_its_own_reserve_number():
    numbers = ["R10000001", "R10000002"]
    for render in (lambda: pdf.render_order_forms(numbers, HEADER),
                   lambda: pdf.render_work_order_forms(numbers, HEADER, ["Reparation"])):
        drawn = _drawn_rectangles(render())
        for page, number, other in zip(drawn, numbers, reversed(numbers)):
            code = _qr_code(number)
            assert len(code) > 60  # the code's dark modules
            assert code <= page and not _qr_code(other) <= page


def test_unit_lists_say_patient_article_withdrawals_left_and_data_as_of_on_every_page():
    rows = [pdf.UnitListRow(f"Lindqvist, Karin {i}", "194103149806", "200101", "Inkontinensskydd natt", 2, 3, 4,
                            date(2027, 1, 1), "200000001") for i in range(120)]
    texts = assert_every_page_says(pdf.render_unit_list("Hemsjukvården Lund", "420107", rows, HEADER),
                                   "Uppgifter per 2026-11-02 kl. 08.59", "Hemsjukvården Lund (420107)", "3 av 4")
    assert len(texts) > 1
    assert "Lindqvist, Karin 0" in texts[0] and "19410314-9806" in texts[0] and "Inkontinensskydd natt" in texts[0]
    assert "Lindqvist, Karin 119" in texts[-1]


def test_each_runbook_sheet_is_one_page_saying_data_as_of_even_when_long():
    sheets = kit.runbook_sheets(load_runbooks(RUNBOOK_DIR))
    texts = assert_every_page_says(pdf.render_runbook_sheets(sheets, HEADER), "Uppgifter per 2026-11-02 kl. 08.59")
    assert len(texts) == len(sheets) == 5
    assert [sheet.title in text for sheet, text in zip(sheets, texts)] == [True] * 5
    routine = next(text for text in texts if "Reservrutin:" in text)
    assert "Tiderna räknas från att reservrutinen aktiverades" in routine
    long = pdf.RunbookSheet("Ett långt scenario", "Seed 001", "Sammanfattning. " * 30,
                            tuple((f"Steg {i} med en lång beskrivning av vad som ska göras", "Kundservice", "30 min",
                                   "Vad som ska registreras") for i in range(60)), ("Säg detta.",) * 8)
    assert len(pages(pdf.render_runbook_sheets([long, sheets[0]], HEADER))) == 2


def test_the_kit_uses_numbers_reserved_in_advance_and_reprints_unused_ones(ctx, world, prober):
    probe(prober, LAST_GOOD_PROBE)
    other = factories.patient(personnummer=factories.make_personnummer(1950, 5, 5), last_name="Ek")
    factories.prescription_row(world["patient"], world["diaper"], world["prescriber"], unit=world["care"],
                               prescribed_on=utcnow().date())
    factories.prescription_row(other, world["drink"], world["prescriber"], unit=world["care"],
                               prescribed_on=utcnow().date())
    first = kit.generate(LAST_GOOD_PROBE + timedelta(seconds=5))
    documents = {d.kind: d for d in first.documents if d.kind != "unit_list"}
    unit_lists = [d for d in first.documents if d.kind == "unit_list"]
    assert set(documents) == {"order_forms", "work_order_forms", "runbooks"}
    assert [d.unit_id for d in unit_lists] == [world["care"].id] and unit_lists[0].patient_count == 2
    printed = list(db.session.scalars(select(ReserveNumber.number).where(ReserveNumber.state == "printed")
                                      .order_by(ReserveNumber.number)))
    assert len(printed) == 10
    assert first.data_as_of == LAST_GOOD_PROBE
    for document in first.documents:
        assert_every_page_says(document.content, "Uppgifter per 2026-11-02 kl. 09.59")
    numbers = [f"R{n:08d}" for n in printed]
    order_pages = pages(documents["order_forms"].content)
    work_order_pages = pages(documents["work_order_forms"].content)
    assert [number in page for number, page in zip(numbers[:5], order_pages)] == [True] * 5
    assert [number in page for number, page in zip(numbers[5:], work_order_pages)] == [True] * 5
    assert len(order_pages) == len(work_order_pages) == 5
    assert "Lindqvist, Karin" in "".join(pages(unit_lists[0].content))
    second = kit.generate(LAST_GOOD_PROBE + timedelta(hours=1))
    again = {d.kind: d for d in second.documents}
    assert all(f"R{n:08d}" in "".join(pages(again["order_forms"].content)) for n in printed[:5])


def test_the_monitor_refreshes_the_kit_hourly_while_up_and_keeps_it_while_down(app, ctx, world, prober):
    from reserve.tasks import refresh_kit
    from status.tasks import all_jobs
    from tests.service.reserve.conftest import OUTAGE_START, start_outage

    job = next(job for job in all_jobs(app) if job.id == "reserve.kit")  # scheduled by `flask monitor`
    assert job.func is refresh_kit and app.config["RESERVE_KIT_INTERVAL_SECONDS"] == 3600
    probe(prober, LAST_GOOD_PROBE - timedelta(hours=2))
    refresh_kit(LAST_GOOD_PROBE - timedelta(hours=2))
    refresh_kit(LAST_GOOD_PROBE - timedelta(hours=1, minutes=30))  # not due yet
    assert db.session.scalar(select(func.count()).select_from(Kit)) == 1
    refresh_kit(LAST_GOOD_PROBE - timedelta(hours=1))  # an hour on, the main server still up
    assert db.session.scalar(select(func.count()).select_from(Kit)) == 2
    start_outage(prober)
    refresh_kit(OUTAGE_START + timedelta(hours=2))  # due, but the main server is out
    assert db.session.scalar(select(func.count()).select_from(Kit)) == 2
    assert kit.latest_kit().generated_at == LAST_GOOD_PROBE - timedelta(hours=1)


def test_downloading_a_unit_list_is_written_to_the_access_log(reserve_active, world, client):
    factories.prescription_row(world["patient"], world["diaper"], world["prescriber"], unit=world["care"],
                               prescribed_on=utcnow().date())
    made = kit.generate(utcnow())
    unit_list = next(d for d in made.documents if d.kind == "unit_list")
    forms = next(d for d in made.documents if d.kind == "order_forms")
    login(client, "maria")
    page = client.get("/reserv/reservlada").get_data(as_text=True)
    assert "Aktiva rader – Vårdcentralen Norra Fäladen" in page and "Personuppgifter" in page
    response = client.get(f"/reserv/reservlada/{unit_list.id}/{unit_list.filename}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    ingest_pending()  # as every reader of the log does first
    logged = db.session.scalar(select(func.count()).select_from(AccessLogEntry).where(
        AccessLogEntry.patient_id == world["patient"].id, AccessLogEntry.context == "reserve.kit"))
    assert logged == 1
    login(client, "sara")  # IT staff: blank forms yes, patient lists no
    assert client.get(f"/reserv/reservlada/{forms.id}/{forms.filename}").status_code == 200
    assert client.get(f"/reserv/reservlada/{unit_list.id}/{unit_list.filename}").status_code == 403
