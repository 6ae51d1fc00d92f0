"""Access applications (seed 003): the public form, the admin's decisions and the mails they send."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.access.models import AccessApplication, AccessToken
from core.extensions import db
from core.models import User
from tests.conftest import api_token, csrf_token_from, login
from tests.client import FreshClient

LINK = re.compile(r"https://portal\.example(/\S+)")

NEW_PRESCRIBER = {
    "name": "Eva Nyström", "hsa_id": "SE2321000255-N1", "email": "eva.nystrom@region.example",
    "phone": "040-33 44 55", "workplace": "Vårdcentralen Norra Fäladen", "role": "prescriber",
    "product_areas": ["inkontinens", "nutrition"], "units": "410215, 420107",
    "manager_name": "Bertil Chef", "manager_email": "bertil.chef@region.example",
}


def post_form(client, path, data):
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def apply(client, **overrides):
    return post_form(client, "/behorighet/ny", {**NEW_PRESCRIBER, **overrides})


def report_change(client, **data):
    values = {"kind": "change", "name": "Anna Lindström", "username": "anna", "manager_name": "Bertil Chef",
              "manager_email": "bertil.chef@region.example"}
    return post_form(client, "/behorighet/andring", {**values, **data})


def applications() -> list[AccessApplication]:
    return list(db.session.scalars(select(AccessApplication).order_by(AccessApplication.id)
                                   .execution_options(populate_existing=True)))


def account(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username).execution_options(populate_existing=True))


def decide(client, application_id: int, action: str, **data):
    path = f"/admin/behorighet/{application_id}"
    return post_form_at(client, path, f"{path}/{action}", data)


def post_form_at(client, page, target, data):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(target, data={"csrf_token": token, **data})


def link_in(mail) -> str:
    return LINK.search(mail.get_content()).group(1)


def test_the_application_form_is_public_marks_mandatory_fields_and_has_csrf(client, world):
    html = client.get("/behorighet/ny").get_data(as_text=True)
    assert "Ansökan om behörighet" in html and 'name="csrf_token"' in html
    for label in ("Namn (förnamn och efternamn) *", "Arbetsplats *", "Roll *", "Ansvarig chefs namn *",
                  "Ansvarig chefs e-post *"):
        assert label in html
    assert client.get("/behorighet").status_code == 200
    assert "Glömt ditt lösenord?" in client.get("/behorighet").get_data(as_text=True)


def test_a_complete_application_is_saved_and_the_manager_is_told_it_arrived(client, world, smtp):
    response = apply(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/behorighet/mottagen")
    (application,) = applications()
    assert application.status == "submitted" and application.kind == "new"
    assert {a.code for a in application.product_areas} == {"inkontinens", "nutrition"}
    assert {u.customer_number for u in application.units} == {"410215", "420107"}
    receipt = client.get("/behorighet/mottagen").get_data(as_text=True)
    assert application.reference in receipt
    (mail,) = smtp.to("bertil.chef@region.example")
    assert mail["Subject"] == f"Ansökan om behörighet {application.reference} har tagits emot"
    assert "Eva" not in mail.get_content()


def test_an_application_missing_mandatory_fields_names_each_and_saves_nothing(client, world, smtp):
    response = apply(client, name="", workplace=" ", manager_email="", product_areas=[], units="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Ansökan är inte skickad." in html
    for message in ("Namn är obligatoriskt.", "Arbetsplats är obligatoriskt.", "Ansvarig chefs e-post är obligatoriskt.",
                    "Produktområden är obligatoriskt.", "Kundnummer (förskrivande enheter) är obligatoriskt."):
        assert message in html
    assert applications() == [] and smtp.messages == []
    assert 'value="Eva Nyström"' not in html and 'value="eva.nystrom@region.example"' in html  # input kept


@pytest.mark.parametrize(("overrides", "message"), [
    ({"units": "410215, 999999"}, "Kundnummer som inte finns: 999999."),
    ({"units": "VC Norr"}, "Kundnummer består av siffror"),
    ({"email": "eva@"}, "E-post: ange en e-postadress"),
    ({"role": "superuser"}, "Okänd roll."),
    ({"product_areas": ["hemliga"]}, "Okänt produktområde."),
    ({"name": "x" * 151}, "Högst 150 tecken."),
])
def test_bad_values_are_refused_with_the_field_named_and_nothing_saved(client, world, overrides, message):
    response = apply(client, **overrides)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert applications() == []


def test_html_in_an_application_is_shown_as_text_to_the_admin(client, world):
    apply(client, note="<img src=x onerror=alert(1)>")
    login(client, "boss")
    html = client.get(f"/admin/behorighet/{applications()[0].id}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_approval_creates_the_account_and_mails_username_and_a_single_use_link_never_a_password(client, world, smtp):
    apply(client)
    application = applications()[0]
    login(client, "boss")
    page = client.get(f"/admin/behorighet/{application.id}").get_data(as_text=True)
    assert 'value="evanys"' in page  # suggested username
    response = decide(client, application.id, "bevilja", username="evanys")
    assert response.status_code == 302

    eva = account("evanys")
    assert eva.active and eva.name == "Eva Nyström" and {r.value for r in eva.roles} == {"prescriber"}
    assert {a.code for a in eva.product_areas} == {"inkontinens", "nutrition"}
    assert {u.customer_number for u in eva.units} == {"410215", "420107"}
    assert applications()[0].status == "approved" and applications()[0].user_id == eva.id

    (to_user,) = smtp.to("eva.nystrom@region.example")
    assert "Ditt användarnamn: evanys" in to_user.get_content() and "Eva" not in to_user["Subject"]
    manager_mails = smtp.to("bertil.chef@region.example")
    assert "Användarnamn: evanys" in manager_mails[-1].get_content()
    assert "/losenord" not in manager_mails[-1].get_content()
    link = link_in(to_user)
    assert link.startswith("/losenord?t=")  # in the query string, which the access log leaves out
    token = link.split("?t=", 1)[1]
    assert token not in {t.token_hash for t in db.session.scalars(select(AccessToken))}  # stored hashed only

    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/login").get_data(as_text=True))})
    assert login(client, "evanys", "whatever").status_code == 401  # nobody knows the initial password
    form = client.get(link).get_data(as_text=True)
    assert 'autocomplete="new-password"' in form and "evanys" in form
    chosen = "Sommarregn 2026 kväll"
    response = client.post(link, data={"csrf_token": csrf_token_from(form), "password": chosen, "repeated": chosen})
    assert response.status_code == 302
    assert login(client, "evanys", chosen).status_code == 302
    assert client.get(link).status_code == 410  # single use


def test_a_decided_application_cannot_be_decided_again(client, world):
    apply(client)
    application_id = applications()[0].id
    login(client, "boss")
    decide(client, application_id, "bevilja", username="evanys")
    token = csrf_token_from(client.get("/admin/behorighet/").get_data(as_text=True))
    again = client.post(f"/admin/behorighet/{application_id}/avsla", data={"csrf_token": token, "reason": "Nej"})
    assert again.status_code == 409 and "redan handlagt" in again.get_data(as_text=True)
    assert applications()[0].status == "approved"


def test_a_taken_username_is_refused_and_nothing_is_created(client, world, smtp):
    apply(client)
    application_id = applications()[0].id
    login(client, "boss")
    response = decide(client, application_id, "bevilja", username="anna")
    assert response.status_code == 422 and "Användarnamnet anna är upptaget." in response.get_data(as_text=True)
    assert applications()[0].status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(User)) == 2
    assert smtp.to("eva.nystrom@region.example") == []


def test_an_incomplete_application_is_returned_to_the_manager_who_completes_it_once(client, world, smtp):
    apply(client, workplace="VC N")
    application_id = applications()[0].id
    login(client, "boss")
    response = decide(client, application_id, "returnera", missing=["workplace", "hsa_id"],
                      comment="Skriv arbetsplatsens fullständiga namn.")
    assert response.status_code == 302 and applications()[0].status == "returned"
    mail = smtp.to("bertil.chef@region.example")[-1]
    assert "behöver kompletteras" in mail["Subject"]
    body = mail.get_content()
    assert "- Arbetsplats" in body and "- HSA-id" in body and "fullständiga namn" in body
    link = link_in(mail)

    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/login").get_data(as_text=True))})
    form = client.get(link).get_data(as_text=True)
    assert "Komplettering av ärende" in form and 'value="VC N"' in form and 'value="410215, 420107"' in form
    data = {**NEW_PRESCRIBER, "workplace": "Vårdcentralen Norra Fäladen, Lund", "csrf_token": csrf_token_from(form)}
    incomplete = client.post(link, data={**data, "manager_email": ""})
    assert incomplete.status_code == 422 and applications()[0].status == "returned"
    assert client.post(link, data=data).status_code == 302
    (application,) = applications()
    assert application.status == "submitted" and application.workplace == "Vårdcentralen Norra Fäladen, Lund"
    assert client.get(link).status_code == 410


def test_returning_needs_something_to_say_and_refuses_a_personnummer(client, world, smtp):
    apply(client)
    application_id = applications()[0].id
    login(client, "boss")
    empty = decide(client, application_id, "returnera")
    assert empty.status_code == 422 and "Markera vad som saknas" in empty.get_data(as_text=True)
    personal = decide(client, application_id, "returnera", comment="Gäller 19121212-1212")
    assert personal.status_code == 422 and "personnummer" in personal.get_data(as_text=True)
    assert applications()[0].status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(AccessToken)) == 0


def test_a_rejection_is_mailed_with_its_reason_to_manager_and_applicant(client, world, smtp):
    apply(client)
    application_id = applications()[0].id
    login(client, "boss")
    assert decide(client, application_id, "avsla").status_code == 422
    asked = decide(client, application_id, "avsla", reason="Saknar förskrivningsrätt.")
    assert asked.status_code == 200 and "Avslå ärende" in asked.get_data(as_text=True)
    assert applications()[0].status == "submitted" and not smtp.to("eva.nystrom@region.example")  # only asked
    assert decide(client, application_id, "avsla", reason="Saknar förskrivningsrätt.",
                  bekraftat="ja").status_code == 302
    assert applications()[0].status == "rejected"
    for address in ("bertil.chef@region.example", "eva.nystrom@region.example"):
        mail = smtp.to(address)[-1]
        assert "avslagen" in mail["Subject"] and "Saknar förskrivningsrätt." in mail.get_content()
    assert account("evanys") is None


def test_a_termination_disables_login_and_api_at_once(client, world, smtp, app):
    browser = FreshClient(app, app.response_class, use_cookies=True)
    login(browser, "anna")
    token = api_token(browser, "anna")
    assert browser.get("/").status_code == 200
    response = post_form(client, "/behorighet/andring", {"kind": "termination", "name": "Anna Lindström",
                                                          "username": "anna", "manager_name": "Bertil Chef",
                                                          "manager_email": "bertil.chef@region.example"})
    assert response.status_code == 302
    assert account("anna").active  # nothing happens until the admin has approved
    login(client, "boss")
    assert decide(client, applications()[0].id, "bevilja").status_code == 302

    assert not account("anna").active
    assert browser.get("/").status_code == 302  # the open session is gone
    assert browser.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert login(FreshClient(app, app.response_class, use_cookies=True), "anna").status_code == 401
    assert "avslutad" in smtp.to("bertil.chef@region.example")[-1].get_content()


def test_changes_of_name_workplace_and_role_reach_the_account(client, world, smtp):
    report_change(client, change_type="name", new_name="Anna Lindström Berg")
    report_change(client, change_type="workplace", workplace="Hemsjukvården Lund", units="420107")
    report_change(client, change_type="role", role="customer_service")
    login(client, "boss")
    for application in applications():
        assert decide(client, application.id, "bevilja").status_code == 302
    anna = account("anna")
    assert anna.name == "Anna Lindström Berg" and anna.workplace == "Hemsjukvården Lund"
    assert [u.customer_number for u in anna.units] == ["420107"]
    assert {r.value for r in anna.roles} == {"customer_service"} and anna.product_areas == []
    assert len(smtp.to("anna@region.example")) == 3


def test_leave_blocks_login_and_return_from_leave_opens_it_again(client, world, app):
    missing = report_change(client, change_type="leave")
    assert missing.status_code == 422 and "Från och med är obligatoriskt." in missing.get_data(as_text=True)
    backwards = report_change(client, change_type="leave", starts_on="2026-12-01", ends_on="2026-11-01")
    assert backwards.status_code == 422 and "Till och med kan inte vara före" in backwards.get_data(as_text=True)
    assert report_change(client, change_type="leave", starts_on="2026-11-01", ends_on="2027-04-30").status_code == 302
    login(client, "boss")
    decide(client, applications()[0].id, "bevilja")
    assert not account("anna").active and login(FreshClient(app, app.response_class, use_cookies=True), "anna").status_code == 401
    report_change(client, change_type="return")
    decide(client, applications()[1].id, "bevilja")
    assert account("anna").active and login(FreshClient(app, app.response_class, use_cookies=True), "anna").status_code == 302


def test_a_change_for_an_unknown_username_cannot_be_approved(client, world):
    response = report_change(client, username="finnsinte", change_type="name", new_name="Ny")
    assert response.status_code == 302  # the public form never tells whether an account exists
    login(client, "boss")
    page = client.get(f"/admin/behorighet/{applications()[0].id}").get_data(as_text=True)
    assert "Det finns inget konto med användarnamnet finnsinte" in page
    refused = decide(client, applications()[0].id, "bevilja")
    assert refused.status_code == 409 and applications()[0].status == "submitted"


def test_application_administration_is_for_admin_only(client, world):
    apply(client)
    login(client, "anna")
    application_id = applications()[0].id
    for path in ("/admin/behorighet/", f"/admin/behorighet/{application_id}", "/admin/behorighet/anvandare-per-enhet",
                 "/admin/behorighet/anvandare-per-enhet.csv"):
        assert client.get(path).status_code == 403, path
    token = csrf_token_from(client.get("/min-sida/").get_data(as_text=True))
    assert client.post(f"/admin/behorighet/{application_id}/bevilja",
                       data={"csrf_token": token, "username": "x"}).status_code == 403
    assert applications()[0].status == "submitted"


def test_the_admin_list_filters_by_status(client, world):
    apply(client)
    apply(client, name="Per Persson", email="per@region.example")
    login(client, "boss")
    decide(client, applications()[0].id, "avsla", reason="Dubblett.", bekraftat="ja")
    submitted = client.get("/admin/behorighet/").get_data(as_text=True)
    assert "Per Persson" in submitted and "Eva Nyström" not in submitted
    rejected = client.get("/admin/behorighet/?status=rejected").get_data(as_text=True)
    assert "Eva Nyström" in rejected and "Per Persson" not in rejected
    assert "Ansökningar om behörighet" in client.get("/admin/").get_data(as_text=True)


def test_a_second_application_for_the_same_person_is_flagged_to_the_admin(client, world):
    apply(client)
    apply(client, email=NEW_PRESCRIBER["email"].upper())  # the same person, the address written otherwise
    apply(client, name="Någon Annan", email="annan@region.example", hsa_id="SE2321000016-9999")
    first, second, other = applications()
    login(client, "boss")
    flagged = client.get(f"/admin/behorighet/{second.id}").get_data(as_text=True)
    assert "Samma person har 1 annan ansökan:" in flagged and first.reference in flagged
    assert "Samma person har" not in client.get(f"/admin/behorighet/{other.id}").get_data(as_text=True)
