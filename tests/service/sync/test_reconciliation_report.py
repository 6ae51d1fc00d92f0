"""The reconciliation as people read it: reserve numbers and main-server ids, groups with totals, CSV, A4 PDF."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from itertools import combinations

import pdfplumber
import pytest
from sqlalchemy import update

from core.clock import utcnow
from core.extensions import db
from core.store import begin_write
from status import incidents
from status.scenarios import Scenario
from status.settings import current_settings
from sync import reconciliation, reconciliation_export
from sync.models import OutboxItem
from tests import factories
from tests.client import FreshClient
from tests.conftest import login
from tests.service.sync.reserve_items import captured


@pytest.fixture
def client(app):
    return FreshClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def outage(world) -> tuple[int, list[OutboxItem]]:
    """An outage with six captured items over two kinds and two units; two registered at the main server."""
    begin_write()
    incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow() - timedelta(hours=5), utcnow(),
                                       current_settings())
    south = factories.unit(name="Vårdcentralen Syd med ett mycket långt namn som måste radbrytas", customer_number="03-77")
    world["kim"].name = "Kim Kundservicehandläggare-Andersson"
    db.session.commit()
    made = [captured(world, f"R-00070{n}", kind=kind, unit=unit)
            for n, (kind, unit) in enumerate([("order", world["unit"]), ("order", south), ("prescription", world["unit"]),
                                              ("order", world["unit"]), ("order", south), ("prescription", world["unit"])])]
    begin_write()
    for n, item in enumerate(made[:2]):
        db.session.execute(update(OutboxItem).where(OutboxItem.id == item.id).values(
            state="acked", server_id=f"B0000000{n + 1}", registered_at=utcnow(), approved_by_id=world["hanna"].id,
            approved_at=utcnow()))
    db.session.commit()
    return incident.id, made


def test_lines_carry_reserve_numbers_and_are_grouped_by_kind_and_unit_with_totals(outage):
    incident_id, _ = outage
    report = reconciliation.build(incident_id)
    groups = reconciliation_export.groups(report)
    assert [(g.kind_label, g.unit_label.split(" (")[0], len(g.lines)) for g in groups] == [
        ("Beställning", "Vårdcentralen Norr", 2),
        ("Beställning", "Vårdcentralen Syd med ett mycket långt namn som måste radbrytas", 2),
        ("Förskrivning", "Vårdcentralen Norr", 2)]
    assert [line.reserve_number for line in groups[0].lines] == ["R-000700", "R-000703"]
    assert (groups[0].balance.captured, groups[0].balance.registered, groups[0].balance.outstanding) == (2, 1, 1)
    assert "2 poster: 1 inskickade, 0 lösta, 0 makulerade, 1 ej klara" == reconciliation_export.totals_text(
        groups[0].balance)


def test_the_page_names_lines_by_reserve_number_and_keeps_keys_behind_the_trace_link(client, world, outage):
    incident_id, made = outage
    login(client, "hanna")
    page = client.get(f"/efterregistrering/avstamning/{incident_id}").get_data(as_text=True)
    assert "R-000701" in page and "B00000002" in page and "Summa: 2 poster: 1 inskickade" in page
    assert f'href="/efterregistrering/post/{made[0].key}"' in page
    assert page.count(made[0].key) == 1 and made[0].key[:8] + "<" not in page  # only inside the link
    assert world["patient"].personnummer not in page


def test_the_csv_opens_in_a_swedish_excel_as_it_is(client, world, outage):
    incident_id, made = outage
    login(client, "hanna")
    body = client.get(f"/efterregistrering/avstamning/{incident_id}.csv").get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    header = rows.index(next(r for r in rows if r and r[0] == "Reservnummer"))
    assert rows[header][:4] == ["Reservnummer", "Typ", "Enhet", "Kanal"] and "Huvudserverns id" in rows[header]
    lines = rows[header + 1:]
    assert [r[0] for r in lines] == ["R-000700", "R-000703", "R-000701", "R-000704", "R-000702", "R-000705"]
    first = dict(zip(rows[header], lines[0], strict=True))
    assert first["Huvudserverns id"] == "B00000001" and first["Utfall"] == "Registrerad"
    assert len(first["Registrerad"]) == 16 and first["Registrerad"][4] == "-" and first["Registrerad"][13] == ":"
    text = body.decode("utf-8-sig")
    assert all(item.key not in text for item in made) and world["patient"].personnummer not in text
    assert ["Registrerade under händelsen", "6"] in rows


def test_swedish_numbers_group_thousands():
    assert reconciliation_export.number(12345) == "12\u00a0345" and reconciliation_export.number(7) == "7"


def test_the_pdf_fits_a4_and_no_words_overlap(client, world, outage, tmp_path):
    incident_id, _ = outage
    login(client, "hanna")
    response = client.get(f"/efterregistrering/avstamning/{incident_id}.pdf")
    assert response.mimetype == "application/pdf"
    (tmp_path / "avstamning.pdf").write_bytes(response.get_data())
    with pdfplumber.open(io.BytesIO(response.get_data())) as pdf:
        text = "".join(page.extract_text() for page in pdf.pages)
        assert "R-000701" in text and "B00000002" in text and "Beställning – Vårdcentralen Norr" in text
        for page in pdf.pages:
            assert {round(page.width), round(page.height)} == {595, 842}  # A4, either way round
            words = page.extract_words(use_text_flow=False, keep_blank_chars=False)
            assert words
            for word in words:
                assert 0 <= word["x0"] and word["x1"] <= page.width and 0 <= word["top"] and word["bottom"] <= page.height, word
            for a, b in combinations(words, 2):
                overlap_x = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
                overlap_y = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
                assert overlap_x <= 0.5 or overlap_y <= 0.5, (a["text"], b["text"])
