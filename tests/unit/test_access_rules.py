"""Access-application rules, mail texts and the CSV report: plain functions, no app and no database."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.access import mails
from app.access.report import HEADER, to_csv
from core.spreadsheet import neutralise
from app.access.rules import (
    ChangeType, Kind, missing_fields, parse_customer_numbers, reference, required_fields, returnable_fields,
    suggest_username, token_usable,
)
from core.mail import contains_personal_data

NOW = datetime(2026, 11, 2, 9, 0)


def test_a_new_prescriber_needs_product_areas_and_units_besides_the_always_required_fields():
    assert required_fields(Kind.NEW, role="prescriber") == (
        "name", "manager_name", "manager_email", "email", "phone", "workplace", "role", "product_areas", "units")
    assert "units" not in required_fields(Kind.NEW, role="customer_service")


@pytest.mark.parametrize(("change", "extra"), [
    (ChangeType.LEAVE, ("starts_on",)),
    (ChangeType.RETURN, ()),
    (ChangeType.NAME, ("new_name",)),
    (ChangeType.WORKPLACE, ("workplace", "units")),
    (ChangeType.ROLE, ("role",)),
])
def test_each_change_needs_its_own_fields(change, extra):
    assert required_fields(Kind.CHANGE, change) == ("name", "manager_name", "manager_email", "username",
                                                    "change_type", *extra)


def test_a_termination_needs_the_account_and_the_manager():
    assert required_fields(Kind.TERMINATION) == ("name", "manager_name", "manager_email", "username")


def test_blank_text_and_empty_lists_count_as_missing():
    values = {"name": "  ", "manager_name": "Eva Chef", "manager_email": "eva@region.example", "email": "a@b.se",
              "phone": "040-1", "workplace": "VC Norr", "role": "prescriber", "product_areas": [], "units": ""}
    assert missing_fields(values, Kind.NEW, role="prescriber") == ["name", "product_areas", "units"]


def test_customer_numbers_are_read_from_commas_spaces_and_semicolons_without_duplicates():
    assert parse_customer_numbers("410215, 420107;410215  430301") == (["410215", "420107", "430301"], [])
    assert parse_customer_numbers("410215, VC-Norr") == (["410215"], ["VC-Norr"])


def test_a_suggested_username_is_ascii_and_free():
    assert suggest_username("Åsa Öberg-Ärlig", []) == "asaarl"
    assert suggest_username("Karin Ek", ["karek", "karek2"]) == "karek3"
    assert suggest_username("Li", []) == "lia"


def test_a_token_is_usable_once_and_only_before_it_expires():
    expires = NOW + timedelta(hours=1)
    assert token_usable(expires, None, NOW)
    assert not token_usable(expires, NOW, NOW)
    assert not token_usable(expires, None, expires)


def test_mail_subjects_carry_the_reference_only_and_no_mail_carries_a_password_or_personnummer():
    ref = reference(12)
    assert ref == "BEH-000012"
    all_mails = [
        mails.received("Portalen", ref, "Ny behörighet", "VC Norr"),
        mails.account_created_to_user("Portalen", ref, "karek", "https://x.example/losenord/abc", 7),
        mails.account_created_to_manager("Portalen", ref, "karek"),
        mails.change_done("Portalen", ref, "Namnbyte", "karek"),
        mails.termination_done("Portalen", ref, "karek"),
        mails.returned_to_manager("Portalen", ref, ["Arbetsplats"], "Ange rätt kundnummer.", "https://x/k/abc", 30),
        mails.rejected("Portalen", ref, "Saknar förskrivningsrätt."),
    ]
    for subject, body in all_mails:
        assert ref in subject and "karek" not in subject and not contains_personal_data(subject, body)
        assert "lösenord:" not in body.lower()
    user_mail = all_mails[1][1]
    assert "Ditt användarnamn: karek" in user_mail and "https://x.example/losenord/abc" in user_mail
    assert "karek" in all_mails[2][1] and "losenord" not in all_mails[2][1]


def test_csv_has_a_bom_semicolons_and_cannot_start_a_formula():
    text = to_csv([("410215", "VC Norr", "karek", "=HYPERLINK(\"x\")", "", "Förskrivare", "", "", "+4640", "", "Ja", "")])
    assert text.startswith("\ufeff" + ";".join(HEADER))
    assert "'=HYPERLINK" in text and ";'+4640;" in text
    assert neutralise("Karin") == "Karin" and neutralise(None) == ""


def test_the_admin_can_mark_only_fields_that_belong_to_the_application():
    assert returnable_fields(Kind.TERMINATION) == ["username", "name", "ends_on", "manager_name", "manager_email"]
    assert "new_name" in returnable_fields(Kind.CHANGE, ChangeType.NAME)
    assert "new_name" not in returnable_fields(Kind.NEW, role="prescriber")
