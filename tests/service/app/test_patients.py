"""The Patient tab: search kinds, first fetch from the register, overview statuses, edit; all logged."""
from __future__ import annotations

import socket
from contextlib import contextmanager
from datetime import date

from freezegun import freeze_time
from sqlalchemy import select

from core.auth.roles import Role
from core.extensions import db
from core.models import AccessLogEntry, Patient
from core.privacy.access_journal import ingest_pending
from app.patients.register import FileRegister, HttpRegister, RegisteredAddress, write_register_file
from tests import factories
from tests.conftest import login

PRESCRIBED = date(2026, 11, 2)


def _prescriber(client, username="karin", areas=("inkontinens",)):
    user = factories.user(username, roles=(Role.PRESCRIBER,), areas=areas)
    login(client, username)
    return user


@contextmanager
def logged_in_at(client, moment: str):  # noqa: ANN001, ANN201
    """Travel to the moment and log in again there: a session cookie is only valid in its own time."""
    with freeze_time(moment):
        login(client, "karin")
        yield


def _logged(action: str) -> list[int]:
    ingest_pending()  # as every reader of the log does first
    return list(db.session.scalars(select(AccessLogEntry.patient_id).where(AccessLogEntry.action == action)))


def test_full_personnummer_opens_the_overview_and_is_logged(client, ctx):
    _prescriber(client)
    anna = factories.patient(personnummer=factories.make_personnummer(1950, 3, 2), first_name="Anna", last_name="Ödman")
    response = client.get(f"/patient/?sok=1&q={anna.personnummer}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/patient/{anna.id}"
    assert "Ödman" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _logged("search") == [anna.id]
    assert _logged("overview") == [anna.id]


def test_prefix_finds_everyone_born_that_year_and_logs_each_shown(client, ctx):
    _prescriber(client)
    born_1901 = [factories.patient(personnummer=factories.make_personnummer(1901, 5, d)) for d in (1, 2)]
    factories.patient(personnummer=factories.make_personnummer(1902, 5, 1))
    html = client.get("/patient/?sok=1&q=1901").get_data(as_text=True)
    assert all(p.personnummer in html for p in born_1901)
    assert "190205" not in html
    assert sorted(_logged("search")) == sorted(p.id for p in born_1901)


def test_empty_search_lists_the_prescribers_own_patients(client, ctx):
    karin = _prescriber(client)
    olle = factories.user("olle", roles=(Role.PRESCRIBER,))
    mine, theirs = factories.patient(last_name="Minsson"), factories.patient(last_name="Derasson")
    factories.prescription_row(mine, factories.article(), karin)
    factories.prescription_row(theirs, factories.article(), olle)
    html = client.get("/patient/?sok=1&q=").get_data(as_text=True)
    assert "Minsson" in html and "Derasson" not in html


def test_advanced_search_by_article_with_active_inactive_or_both(client, ctx):
    karin = _prescriber(client)
    diaper = factories.article(number="700001")
    active, cancelled = factories.patient(last_name="Aktivsson"), factories.patient(last_name="Makuleradsson")
    factories.prescription_row(active, diaper, karin)
    factories.prescription_row(cancelled, diaper, karin, status="cancelled")
    with logged_in_at(client, "2026-11-21"):
        only_active = client.get("/patient/?sok=1&article=700001&rows=active").get_data(as_text=True)
        inactive = client.get("/patient/?sok=1&article=700001&rows=inactive").get_data(as_text=True)
        both = client.get("/patient/?sok=1&article=700001&rows=both").get_data(as_text=True)
    assert "Aktivsson" in only_active and "Makuleradsson" not in only_active
    assert "Makuleradsson" in inactive and "Aktivsson" not in inactive
    assert "Aktivsson" in both and "Makuleradsson" in both


def test_search_by_article_names_the_article_or_says_it_does_not_exist(client, ctx):
    _prescriber(client)
    factories.article(number="700001", name="Inkontinensskydd Natt")
    found = client.get("/patient/?sok=1&article=700001").get_data(as_text=True)
    assert "Benämning: <strong>700001 Inkontinensskydd Natt</strong>" in found  # seed 000: benämning visas
    missing = client.get("/patient/?sok=1&article=999999")
    assert missing.status_code == 404 and "Artikel 999999 finns inte." in missing.get_data(as_text=True)


def test_malformed_personnummer_gets_a_message_naming_the_field(client):
    _prescriber(client)
    response = client.get("/patient/?sok=1&q=19121212-1212")
    assert response.status_code == 400
    assert "bara siffror" in response.get_data(as_text=True)
    wrong_check = client.get("/patient/?sok=1&q=191212121213")
    assert "kontrollsiffra" in wrong_check.get_data(as_text=True)


def test_search_results_sort_and_page(client):
    _prescriber(client)
    for day in range(1, 13):
        factories.patient(personnummer=factories.make_personnummer(1933, 3, day))
    html = client.get("/patient/?sok=1&q=1933&sort=personnummer&dir=desc&per_page=5").get_data(as_text=True)
    assert html.index("19330312") < html.index("19330311")
    assert "Visar 1–5 av 12" in html


def test_first_fetch_creates_a_patient_from_the_register(app, client, ctx, tmp_path):
    _prescriber(client)
    personnummer = factories.make_personnummer(1961, 7, 14)
    path = write_register_file(tmp_path / "register.json", {
        personnummer: RegisteredAddress("Lilla torg 3", "211 34", "Malmö", first_name="Åsa", last_name="Nyström"),
    })
    previous = app.extensions["population_register"]
    app.extensions["population_register"] = FileRegister(path)
    try:
        response = client.get(f"/patient/?sok=1&q={personnummer}")
    finally:
        app.extensions["population_register"] = previous
    assert response.status_code == 302
    patient = db.session.scalar(select(Patient).where(Patient.personnummer == personnummer))
    assert (patient.registered_street, patient.registered_city) == ("Lilla torg 3", "Malmö")
    assert patient.registered_address_fetched_at is not None
    overview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Hämtad från folkbokföringen (befolkningsregistret) " in overview  # where the address came from, and when


def test_register_that_does_not_answer_gives_a_clear_message(app, client):
    _prescriber(client)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    previous = app.extensions["population_register"]
    app.extensions["population_register"] = HttpRegister(f"http://127.0.0.1:{closed_port}", timeout=(0.5, 0.5))
    try:
        response = client.get(f"/patient/?sok=1&q={factories.make_personnummer(1961, 7, 15)}")
    finally:
        app.extensions["population_register"] = previous
    assert response.status_code == 503
    assert "Folkbokföringsregistret svarar inte" in response.get_data(as_text=True)


def test_overview_shows_active_and_closed_rows_with_their_status(client, ctx):
    karin = _prescriber(client)
    patient = factories.patient()
    factories.prescription_row(patient, factories.article(name="Aktiv artikel"), karin, prescribed_on=PRESCRIBED)
    factories.prescription_row(patient, factories.article(name="Levererad artikel"), karin, status="delivered",
                               withdrawals_used=4)
    factories.prescription_row(patient, factories.article(name="Makulerad artikel"), karin, status="cancelled")
    with logged_in_at(client, "2026-11-21"):
        html = client.get(f"/patient/{patient.id}").get_data(as_text=True)
    active_part, closed_part = html.split("Avslutade förskrivningsrader")
    assert "Aktiv artikel" in active_part and "4 av 4" in active_part
    assert "Levererad" in closed_part and "Makulerad" in closed_part


def test_a_row_expires_one_year_after_its_date(client, ctx):
    karin = _prescriber(client)
    patient = factories.patient()
    factories.prescription_row(patient, factories.article(name="Årsartikel"), karin, prescribed_on=PRESCRIBED)
    with logged_in_at(client, "2027-11-02 12:00"):
        last_day = client.get(f"/patient/{patient.id}").get_data(as_text=True)
    with logged_in_at(client, "2027-11-03 12:00"):
        day_after = client.get(f"/patient/{patient.id}").get_data(as_text=True)
    assert "Årsartikel" in last_day.split("Avslutade förskrivningsrader")[0]
    closed = day_after.split("Avslutade förskrivningsrader")[1]
    assert "Årsartikel" in closed and "Utgått" in closed


def test_product_area_filter_ticks_the_prescribers_own_areas_by_default(client, ctx):
    karin = _prescriber(client, areas=("stomi",))
    patient = factories.patient()
    factories.prescription_row(patient, factories.article(area="stomi", name="Stomipåse"), karin)
    factories.prescription_row(patient, factories.article(area="nutrition", name="Sondnäring"), karin)
    default = client.get(f"/patient/{patient.id}").get_data(as_text=True)
    assert "Stomipåse" in default and "Sondnäring" not in default
    nutrition_id = factories.product_area("nutrition").id
    ticked = client.get(f"/patient/{patient.id}?omraden=1&area={nutrition_id}").get_data(as_text=True)
    assert "Sondnäring" in ticked and "Stomipåse" not in ticked


def test_edit_patient_data_saves_and_validates(client, ctx):
    _prescriber(client)
    patient = factories.patient()
    page = client.get(f"/patient/{patient.id}/andra").get_data(as_text=True)
    from tests.conftest import csrf_token_from

    token = csrf_token_from(page)
    bad = client.post(f"/patient/{patient.id}/andra", data={
        "csrf_token": token, "delivery_street": "Kvarngatan 2", "delivery_postal_code": "12", "delivery_city": "Lund",
    })
    assert bad.status_code == 400 and "NNN NN" in bad.get_data(as_text=True)
    db.session.refresh(patient)
    assert patient.delivery_street is None  # nothing half-saved

    good = client.post(f"/patient/{patient.id}/andra", data={
        "csrf_token": token, "delivery_street": "Kvarngatan 2", "delivery_postal_code": "223 50",
        "delivery_city": "Lund", "nutrition_category": "full_nutrition",
        "contacts-0-name": "Per <b>Ek</b>", "contacts-0-relation": "Son", "contacts-0-phone": "070-123 45 67",
    })
    assert good.status_code == 302
    db.session.refresh(patient)
    assert patient.delivery_city == "Lund" and patient.nutrition_category == "full_nutrition"
    assert [c.name for c in patient.contact_persons] == ["Per <b>Ek</b>"]
    overview = client.get(f"/patient/{patient.id}").get_data(as_text=True)
    assert "Per &lt;b&gt;Ek&lt;/b&gt;" in overview
    assert _logged("edit") == [patient.id]


def test_it_staff_cannot_read_patients(client):
    factories.user("it", roles=(Role.IT_STAFF,))
    login(client, "it")
    assert client.get("/patient/?sok=1&q=1950").status_code == 403
