"""New prescription, cancel, copy/correct, receipts — through the UI and the JSON API."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from freezegun import freeze_time
from pypdf import PdfReader
from sqlalchemy import select

from core.auth.roles import Role
from core.extensions import db
from core.models import AccessLogEntry, PrescriptionRow
from core.privacy.access_journal import ingest_pending
from tests import factories
from tests.conftest import api_token, csrf_token_from, login


@pytest.fixture
def world(ctx):
    """A prescriber authorised for incontinence and nutrition, with one unit paying for each."""
    area_unit = factories.unit(name="Vårdcentralen Norr", payer_areas=("inkontinens", "nutrition"))
    other_unit = factories.unit(name="Hemsjukvården Öst", payer_areas=("inkontinens",))
    unrelated = factories.unit(name="Främmande enheten", payer_areas=("inkontinens", "nutrition"))
    karin = factories.user("karin", roles=(Role.PRESCRIBER,), areas=("inkontinens", "nutrition"),
                           units=(area_unit, other_unit), name="Karin Förskrivare")
    patient = factories.patient(first_name="Åke", last_name="Öberg", registered_street="Ängsvägen 4",
                                registered_postal_code="226 47", registered_city="Lund")
    pads = factories.article(number="310001", name="Inkontinensskydd Maxi", package_size=30)
    drink = factories.article(area="nutrition", number="420001", name="Näringsdryck Jordgubb", package_size=24)
    stoma = factories.article(area="stomi", number="530001", name="Stomipåse Midi")
    return {"karin": karin, "patient": patient, "pads": pads, "drink": drink, "stoma": stoma,
            "unit": area_unit, "other_unit": other_unit, "unrelated": unrelated}


def bearer(client, username="karin"):
    return {"Authorization": f"Bearer {api_token(client, username)}"}


def create(client, headers, world, rows, area="inkontinens", unit=None):
    return client.post("/api/v1/prescriptions", headers=headers, json={
        "patient_id": world["patient"].id, "product_area": area, "unit_id": (unit or world["unit"]).id, "rows": rows,
    })


def test_api_saves_a_prescription_with_a_nine_digit_number(client, world):
    response = create(client, bearer(client), world, [
        {"article_number": "310001", "pieces_per_day": "3", "withdrawals": 4, "recommendation": "Byt vid behov."},
    ])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert re.fullmatch(r"\d{9}", str(body["number"]))
    # 3 a day × 90 days = 270 pieces = 9 packages of 30.
    assert body["rows"][0]["packages_per_withdrawal"] == 9
    assert body["rows"][0]["period_days"] == 90


def test_units_offered_have_a_payer_for_the_area_and_a_relation_to_the_prescriber(client, world):
    options = client.get("/api/v1/prescribing/options", headers=bearer(client)).get_json()
    assert options["product_areas"] == ["inkontinens", "nutrition"]
    assert {u["name"] for u in options["units"]["inkontinens"]} == {"Vårdcentralen Norr", "Hemsjukvården Öst"}
    assert [u["name"] for u in options["units"]["nutrition"]] == ["Vårdcentralen Norr"]


def test_area_without_authority_and_unit_without_relation_are_403(client, world):
    headers = bearer(client)
    stoma = create(client, headers, world, [{"article_number": "530001", "packages_per_withdrawal": 1,
                                             "withdrawals": 4}], area="stomi")
    assert stoma.status_code == 403 and stoma.get_json()["error"]["field"] == "product_area"
    foreign = create(client, headers, world, [{"article_number": "310001", "packages_per_withdrawal": 1,
                                               "withdrawals": 4}], unit=world["unrelated"])
    assert foreign.status_code == 403 and foreign.get_json()["error"]["field"] == "unit"


@pytest.mark.parametrize(("row", "field"), [
    ({"article_number": "999999", "packages_per_withdrawal": 1, "withdrawals": 4}, "rows[0].article_number"),
    ({"article_number": "310001", "packages_per_withdrawal": -2, "withdrawals": 4}, "rows.0.packages_per_withdrawal"),
    ({"article_number": "420001", "packages_per_withdrawal": 1, "withdrawals": 4}, "rows[0].article"),
    ({"article_number": "310001", "withdrawals": 4}, "rows[0].packages_per_withdrawal"),
    ({"article_number": "310001", "packages_per_withdrawal": 1, "withdrawals": 5}, "rows[0].withdrawals"),
    ({"article_number": "310001", "packages_per_withdrawal": 1, "withdrawals": 4, "colour": "red"}, "rows.0.colour"),
])
def test_bad_rows_are_refused_naming_the_field_and_nothing_is_saved(client, world, row, field):
    response = create(client, bearer(client), world, [row])
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert db.session.scalars(select(PrescriptionRow)).all() == []


def test_second_active_row_for_the_same_article_is_409_and_nothing_half_saved(client, world):
    headers = bearer(client)
    first = create(client, headers, world, [{"article_number": "310001", "packages_per_withdrawal": 2, "withdrawals": 4}])
    assert first.status_code == 201
    extra = factories.article(number="310002", name="Inkontinensskydd Midi")
    second = create(client, headers, world, [
        {"article_number": extra.number, "packages_per_withdrawal": 1, "withdrawals": 4},
        {"article_number": "310001", "packages_per_withdrawal": 1, "withdrawals": 4},
    ])
    assert second.status_code == 409
    assert second.get_json()["error"]["field"] == "rows[1].article"
    assert [r.article_id for r in db.session.scalars(select(PrescriptionRow))] == [world["pads"].id]


def test_an_expired_row_gives_way_to_a_new_prescription(client, world):
    factories.prescription_row(world["patient"], world["pads"], world["karin"], unit=world["unit"],
                               prescribed_on=date(2025, 1, 10))
    with freeze_time("2026-11-21"):
        response = create(client, bearer(client), world,
                          [{"article_number": "310001", "packages_per_withdrawal": 1, "withdrawals": 4}])
    assert response.status_code == 201
    statuses = sorted(r.status for r in db.session.scalars(select(PrescriptionRow)))
    assert statuses == ["active", "expired"]


def test_any_prescriber_may_cancel_an_active_row_but_not_twice(client, world):
    row = factories.prescription_row(world["patient"], world["pads"], world["karin"], unit=world["unit"])
    factories.user("olle", roles=(Role.PRESCRIBER,))
    headers = bearer(client, "olle")
    with freeze_time("2026-11-21"):
        assert client.post(f"/api/v1/prescription-rows/{row.id}/cancel", headers=headers).status_code == 200
        assert client.post(f"/api/v1/prescription-rows/{row.id}/cancel", headers=headers).status_code == 409
    db.session.refresh(row)
    assert row.status == "cancelled" and row.closed_by.username == "olle"


def test_customer_service_cannot_cancel(client, world):
    row = factories.prescription_row(world["patient"], world["pads"], world["karin"], unit=world["unit"])
    factories.user("kundtjanst", roles=(Role.CUSTOMER_SERVICE,))
    response = client.post(f"/api/v1/prescription-rows/{row.id}/cancel", headers=bearer(client, "kundtjanst"))
    assert response.status_code == 403


def test_copying_an_active_row_cancels_the_original(client, world):
    active = factories.prescription_row(world["patient"], world["pads"], world["karin"], unit=world["unit"],
                                        packages=5, prescribed_on=date(2026, 6, 1))
    with freeze_time("2026-11-21"):
        response = client.post("/api/v1/prescriptions/copy", headers=bearer(client), json={
            "patient_id": world["patient"].id, "row_ids": [active.id], "unit_id": world["unit"].id})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["rows"][0]["packages_per_withdrawal"] == 5
    db.session.refresh(active)
    assert active.status == "cancelled"
    new_row = db.session.scalar(select(PrescriptionRow).where(PrescriptionRow.copied_from_id == active.id))
    assert new_row.status == "active"


def test_copying_a_closed_row_leaves_it_closed_and_rows_of_two_areas_are_refused(client, world):
    delivered = factories.prescription_row(world["patient"], world["pads"], world["karin"], unit=world["unit"],
                                           status="delivered", withdrawals_used=4)
    drink = factories.prescription_row(world["patient"], world["drink"], world["karin"], unit=world["unit"])
    headers = bearer(client)
    mixed = client.post("/api/v1/prescriptions/copy", headers=headers, json={
        "patient_id": world["patient"].id, "row_ids": [delivered.id, drink.id], "unit_id": world["unit"].id})
    assert mixed.status_code == 422
    single = client.post("/api/v1/prescriptions/copy", headers=headers, json={
        "patient_id": world["patient"].id, "row_ids": [delivered.id], "unit_id": world["unit"].id})
    assert single.status_code == 201
    db.session.refresh(delivered)
    assert delivered.status == "delivered"


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_receipt_pdf_holds_name_address_and_recommendation_and_is_logged(client, world):
    headers = bearer(client)
    created = create(client, headers, world, [{"article_number": "310001", "packages_per_withdrawal": 2,
                                               "withdrawals": 4, "recommendation": "Använd nattetid, byt på morgonen."}])
    number = created.get_json()["number"]
    pdf = client.get(f"/api/v1/prescriptions/{number}/receipt.pdf", headers=headers)
    assert pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    assert "Åke Öberg" in text and "Ängsvägen 4" in text and "Lund" in text
    assert "Använd nattetid, byt på morgonen." in text
    assert str(number) in text
    ingest_pending()  # as every reader of the log does first
    assert db.session.scalar(select(AccessLogEntry).where(AccessLogEntry.action == "receipt")) is not None


def test_active_rows_pdf_has_a_cover_sheet_and_every_active_row(client, world):
    factories.prescription_row(world["patient"], world["pads"], world["karin"], unit=world["unit"])
    factories.prescription_row(world["patient"], world["drink"], world["karin"], unit=world["unit"])
    with freeze_time("2026-11-21"):
        pdf = client.get(f"/api/v1/patients/{world['patient'].id}/active-rows.pdf", headers=bearer(client))
    reader = PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) >= 2
    assert "Åke Öberg" in reader.pages[0].extract_text()
    text = _pdf_text(pdf.data)
    assert "Inkontinensskydd Maxi" in text and "Näringsdryck Jordgubb" in text


def _post(client, path, **data):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), **data})


def test_the_whole_new_prescription_flow_in_the_browser(client, world):
    login(client, "karin")
    path = f"/forskrivning/ny/{world['patient'].id}"
    page = client.get(path).get_data(as_text=True)
    assert "Inkontinens" in page and "Stomi" not in page  # only authorised areas

    _post(client, path, action="area", area="nutrition")
    page = client.get(path).get_data(as_text=True)
    assert "Vårdcentralen Norr" in page and "Hemsjukvården Öst" not in page  # preselected, only one payer

    found = client.get(f"{path}?artikel=jordgubb").get_data(as_text=True)
    assert "Näringsdryck Jordgubb" in found and "24 st" in found
    added = _post(client, f"{path}?article_id={world['drink'].id}", action="add_row",
                  article_id=str(world["drink"].id), mode="pieces", pieces_per_day="1", withdrawals="4",
                  recommendation="Ges till kvällen.")
    assert added.status_code == 302
    draft = client.get(path).get_data(as_text=True)
    # 1 a day × 90 days = 90 pieces ≈ 3.75 packages of 24 → 4 packages, 96 pieces.
    assert "<td>4</td>" in draft and "<td>96</td>" in draft
    assert "Patienten betalar 50 %" in draft  # nutrition fee shown for a blank category

    saved = _post(client, path, action="save")
    assert saved.status_code == 302
    number = re.search(r"/forskrivning/(\d{9})", saved.headers["Location"]).group(1)
    shown = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert f"sparad med förskrivningsnummer {number}" in shown
    receipt = client.get(f"/forskrivning/{number}/kvitto.pdf")
    assert "Ges till kvällen." in _pdf_text(receipt.data)


def test_bad_quantity_in_the_form_gets_a_message_and_no_row(client, world):
    login(client, "karin")
    path = f"/forskrivning/ny/{world['patient'].id}"
    _post(client, path, action="area", area="inkontinens")
    response = _post(client, path, action="add_row", article_id=str(world["pads"].id), mode="packages",
                     packages_per_withdrawal="-3", withdrawals="4")
    assert response.status_code == 422
    assert "Ange 1–9 999 förpackningar." in response.get_data(as_text=True)
    assert "Inga rader ännu." in response.get_data(as_text=True)


def test_copy_correct_in_the_browser_cancels_the_original_on_save(client, world):
    row = factories.prescription_row(world["patient"], world["pads"], world["karin"], unit=world["unit"],
                                     prescribed_on=date(2026, 10, 1))
    with freeze_time("2026-11-21 09:00"):
        login(client, "karin")
        overview = client.get(f"/patient/{world['patient'].id}").get_data(as_text=True)
        copied = client.post(f"/forskrivning/kopiera/{world['patient'].id}",
                             data={"csrf_token": csrf_token_from(overview), "row": str(row.id)})
        assert copied.status_code == 302
        path = f"/forskrivning/ny/{world['patient'].id}"
        _post(client, path, action="unit", unit=str(world["unit"].id))
        assert _post(client, path, action="save").status_code == 302
    db.session.refresh(row)
    assert row.status == "cancelled"


def test_saving_without_a_chosen_unit_says_so(client, world):
    login(client, "karin")
    path = f"/forskrivning/ny/{world['patient'].id}"
    _post(client, path, action="area", area="inkontinens")  # two units: none preselected
    _post(client, path, action="add_row", article_id=str(world["pads"].id), mode="packages",
          packages_per_withdrawal="2", withdrawals="4")
    response = _post(client, path, action="save")
    assert response.status_code == 422
    assert "Välj förskrivande enhet." in response.get_data(as_text=True)


def test_article_search_counts_every_match_and_pages_through_them(client, world):
    for n in range(25):
        factories.article(number=f"3110{n:02d}", name=f"Slip Extra {n:02d}")
    login(client, "karin")
    path = f"/forskrivning/ny/{world['patient'].id}"
    _post(client, path, action="area", area="inkontinens")
    first = client.get(f"{path}?artikel=slip").get_data(as_text=True)
    assert 'Artiklar <span class="count">(25)</span>' in first and "Visar 1–10 av 25" in first
    assert "Slip Extra 00" in first and "Slip Extra 10" not in first
    last = client.get(f"{path}?artikel=slip&a_page=3").get_data(as_text=True)
    assert "Visar 21–25 av 25" in last and "Slip Extra 24" in last and "Slip Extra 00" not in last


def test_editing_a_draft_row_brings_back_its_quantities_withdrawals_and_recommendation(client, world):
    login(client, "karin")
    path = f"/forskrivning/ny/{world['patient'].id}"
    _post(client, path, action="area", area="nutrition")
    _post(client, path, action="add_row", article_id=str(world["drink"].id), mode="pieces", pieces_per_day="1,5",
          withdrawals="6", period_days="60", recommendation="Ges till kvällen.")
    edit = client.get(f"{path}?article_id={world['drink'].id}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="pieces"', edit)
    assert 'value="1,5"' in edit and 'value="60"' in edit
    assert re.search(r'<option selected value="6">|<option value="6" selected>', edit)
    assert "Ges till kvällen.</textarea>" in edit


def test_beräkna_antal_shows_the_quantities_before_the_row_is_added(client, world):
    login(client, "karin")
    path = f"/forskrivning/ny/{world['patient'].id}"
    _post(client, path, action="area", area="nutrition")
    shown = _post(client, f"{path}?article_id={world['drink'].id}", action="calculate",
                  article_id=str(world["drink"].id), mode="pieces", pieces_per_day="1", withdrawals="4")
    page = shown.get_data(as_text=True)
    # 1 a day × 90 days = 90 pieces ≈ 3.75 packages of 24 → 4 packages, 96 pieces; nothing added yet.
    assert shown.status_code == 200
    assert "<dt>Förpackningar per uttag</dt><dd>4</dd>" in page and "<dt>St per uttag</dt><dd>96</dd>" in page
    assert "<dt>Period per uttag</dt><dd>90 dagar</dd>" in page and 'value="1"' in page  # the form keeps its values
    assert "Inga rader ännu." in page
    refused = _post(client, path, action="calculate", article_id=str(world["drink"].id), mode="packages",
                    packages_per_withdrawal="0", withdrawals="4")
    assert refused.status_code == 422 and "Ange 1–9 999 förpackningar." in refused.get_data(as_text=True)


def test_makulera_asks_first_and_only_the_confirmation_cancels_the_row(client, world):
    row = factories.prescription_row(world["patient"], world["pads"], world["karin"], unit=world["unit"])
    login(client, "karin")
    overview = f"/patient/{world['patient'].id}"
    token = csrf_token_from(client.get(overview).get_data(as_text=True))
    asked = client.post(f"/forskrivning/rad/{row.id}/makulera", data={"csrf_token": token})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Makulera raden för Inkontinensskydd Maxi?" in page
    assert 'name="bekraftat" value="ja"' in page and f'href="{overview}"' in page  # "Nej, tillbaka"
    db.session.refresh(row)
    assert row.status == "active"
    done = client.post(f"/forskrivning/rad/{row.id}/makulera",
                       data={"csrf_token": csrf_token_from(page), "bekraftat": "ja"})
    assert done.status_code == 302
    db.session.refresh(row)
    assert row.status == "cancelled"


def test_an_article_id_beyond_the_stores_integers_is_a_message_not_a_500(client, world):
    login(client, "karin")
    path = f"/forskrivning/ny/{world['patient'].id}"
    _post(client, path, action="area", area="inkontinens")
    for huge, message in (("3000000000", "Välj en artikel."), (str(2**63), "talet är för stort")):
        response = _post(client, path, action="calculate", article_id=huge, mode="packages",
                         packages_per_withdrawal="2", withdrawals="4")
        assert response.status_code == 422 and message in response.get_data(as_text=True)
