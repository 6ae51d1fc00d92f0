"""The printable kit: blank forms with reserved numbers and QR codes, per-unit lists, runbook sheets."""
from __future__ import annotations

from datetime import datetime, timedelta
from io import BytesIO

import pypdf
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.models import AccessLogEntry
from reserve import kit, pdf
from reserve.models import Kit, ReserveNumber
from tests import factories
from tests.conftest import login
from tests.reserve.conftest import LAST_GOOD_PROBE, probe

HEADER = pdf.KitHeader("Förskrivningsportalen", datetime(2026, 11, 2, 8, 0), datetime(2026, 11, 2, 7, 59))


def pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(BytesIO(data)).pages]


def test_each_blank_form_carries_its_reserve_number_qr_code_and_data_as_of():
    texts = pages(pdf.render_order_forms(["R10000001", "R10000002"], HEADER))
    assert len(texts) == 2
    for number, text in zip(["R10000001", "R10000002"], texts):
        assert number in text and "Uppgifter per 2026-11-02 kl. 08.59" in text and "Beställning" in text
    reader = pypdf.PdfReader(BytesIO(pdf.render_work_order_forms(["R10000003"], HEADER, ["Reparation", "Hämtning"])))
    text = reader.pages[0].extract_text()
    assert "R10000003" in text and "Arbetsordertyp" in text and "Reparation" in text and "Uppgifter per" in text


def _squares(number: str) -> set[bytes]:
    page = pypdf.PdfReader(BytesIO(pdf.render_order_forms([number], HEADER))).pages[0]
    return {line for line in page.get_contents().get_data().splitlines() if b" re" in line}


def test_each_form_draws_a_qr_code_of_its_own_reserve_number():
    first, second = _squares("R10000001"), _squares("R10000002")
    assert len(first) > 60 and len(second) > 60  # the code's dark modules, drawn as filled rectangles
    assert first != second  # another number, another code


def test_unit_lists_and_runbook_sheets_say_data_as_of_on_every_page():
    rows = [pdf.UnitListRow(f"Lindqvist, Karin {i}", "194103149806", "200101", "Inkontinensskydd natt", 2, 3, 4,
                            datetime(2027, 1, 1).date(), "200000001") for i in range(120)]
    texts = pages(pdf.render_unit_list("Hemsjukvården Lund", "420107", rows, HEADER))
    assert len(texts) > 1 and all("Uppgifter per 2026-11-02 kl. 08.59" in t for t in texts)
    assert "19410314-9806" in texts[0] and "Inkontinensskydd natt" in texts[0]
    sheets = kit.runbook_sheets(__import__("reserve.runbooks", fromlist=["x"]).load_runbooks(
        __import__("reserve", fromlist=["x"]).RUNBOOK_DIR))
    texts = pages(pdf.render_runbook_sheets(sheets, HEADER))
    assert len(texts) == len(sheets) == 5  # one page per runbook
    assert all("Uppgifter per" in t for t in texts)


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
    order_text = "".join(pages(documents["order_forms"].content))
    assert all(f"R{n:08d}" in order_text for n in printed[:5])
    assert first.data_as_of == LAST_GOOD_PROBE and "Uppgifter per 2026-11-02 kl. 09.59" in order_text
    assert "Lindqvist, Karin" in "".join(pages(unit_lists[0].content))
    second = kit.generate(LAST_GOOD_PROBE + timedelta(hours=1))
    again = {d.kind: d for d in second.documents}
    assert all(f"R{n:08d}" in "".join(pages(again["order_forms"].content)) for n in printed[:5])


def test_the_kit_is_refreshed_hourly_while_up_and_kept_while_down(ctx, world, prober):
    from reserve.tasks import refresh_kit
    from tests.reserve.conftest import OUTAGE_START, start_outage

    probe(prober, LAST_GOOD_PROBE - timedelta(hours=2))
    refresh_kit(LAST_GOOD_PROBE - timedelta(hours=2))
    refresh_kit(LAST_GOOD_PROBE - timedelta(hours=1, minutes=30))  # not due yet
    assert db.session.scalar(select(func.count()).select_from(Kit)) == 1
    start_outage(prober)
    refresh_kit(OUTAGE_START + timedelta(hours=2))  # due, but the main server is out
    assert db.session.scalar(select(func.count()).select_from(Kit)) == 1
    assert kit.latest_kit().generated_at == LAST_GOOD_PROBE - timedelta(hours=2)


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
    logged = db.session.scalar(select(func.count()).select_from(AccessLogEntry).where(
        AccessLogEntry.patient_id == world["patient"].id, AccessLogEntry.context == "reserve.kit"))
    assert logged == 1
    login(client, "sara")  # IT staff: blank forms yes, patient lists no
    assert client.get(f"/reserv/reservlada/{forms.id}/{forms.filename}").status_code == 200
    assert client.get(f"/reserv/reservlada/{unit_list.id}/{unit_list.filename}").status_code == 403
