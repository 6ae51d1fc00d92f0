"""My page: own contact details and customer relations (prescribing units and customer numbers)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.models import User
from tests import factories
from tests.conftest import csrf_token_from, login


def save_contact(client, **fields):
    token = csrf_token_from(client.get("/min-sida/").get_data(as_text=True))
    return client.post("/min-sida/kontaktuppgifter", data={"csrf_token": token, **fields})


def stored(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username).execution_options(populate_existing=True))


def test_own_contact_details_are_saved_and_shown(client, world):
    login(client, "karin")
    page = client.get("/min-sida/").get_data(as_text=True)
    assert "Spara ändringar av mina uppgifter" in page and 'value="karin@region.example"' in page
    response = save_contact(client, email="karin.ek@vard.example", phone="040-12 34 56")
    assert response.status_code == 302
    assert (stored("karin").email, stored("karin").phone) == ("karin.ek@vard.example", "040-12 34 56")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dina kontaktuppgifter är sparade." in page and 'value="040-12 34 56"' in page


def test_bad_contact_details_name_the_field_and_nothing_is_saved(client, world):
    login(client, "karin")
    response = save_contact(client, email="inte en adress", phone="040-12 34 56")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Ange en e-postadress" in html
    assert stored("karin").email == "karin@region.example" and stored("karin").phone is None
    response = save_contact(client, email="karin@region.example", phone="<script>")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Ange ett telefonnummer" in html
    assert 'value="&lt;script&gt;"' in html and stored("karin").phone is None


def test_contact_details_need_the_csrf_token(client, world):
    login(client, "karin")
    response = client.post("/min-sida/kontaktuppgifter", data={"email": "x@y.example", "phone": ""})
    assert response.status_code == 400 and stored("karin").email == "karin@region.example"


def test_customer_relations_list_the_users_units_with_customer_numbers_sortable(client, world):
    extra = factories.unit(name="Hemsjukvården Öst", customer_number="100001", payer_areas=("nutrition",))
    karin = stored("karin")
    karin.units.append(db.session.merge(extra))
    db.session.commit()
    login(client, "karin")
    html = client.get("/min-sida/").get_data(as_text=True)
    section = html.split('id="kundrelationer"')[1].split("</details>")[0]
    assert "Kundrelationer" in html
    assert section.index("100001") < section.index(world["unit"].customer_number)  # by customer number
    assert "Nutrition (Region Skåne)" in section and "Vårdcentralen Söder" not in section
    html = client.get("/min-sida/?kr_sort=customer_number&kr_dir=desc").get_data(as_text=True)
    section = html.split('id="kundrelationer"')[1].split("</details>")[0]
    assert section.index(world["unit"].customer_number) < section.index("100001")


def test_a_blank_e_mail_is_refused_and_the_old_one_kept(client, world):
    login(client, "karin")
    response = save_contact(client, email="  ", phone="040-12 34 56")
    assert response.status_code == 422 and "Ange din e-postadress" in response.get_data(as_text=True)
    assert stored("karin").email == "karin@region.example" and stored("karin").phone is None
