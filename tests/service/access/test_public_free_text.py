"""The public access forms refuse control characters and personal data in free text, naming the field."""
from __future__ import annotations

import pytest

from tests import factories
from tests.service.access.test_applications import applications, apply
from tests.service.access.test_password_reset import ask


@pytest.mark.parametrize(("overrides", "message"), [
    ({"note": "Gäller patient 520118 2911"}, "personnummer eller samordningsnummer"),
    ({"note": "Jag sköter Svea Samuelsson"}, "patients namn"),
    ({"note": "Hemtjänst på Kungsgatan 15"}, "patients adress"),
    ({"name": "Eva\x00 Nyström"}, "styrtecken"),
    ({"workplace": "VC\nNorr"}, "en rad"),
])
def test_an_application_with_personal_data_or_control_characters_is_refused_and_not_saved(
        client, world, overrides, message):
    factories.patient(personnummer="195201182911", first_name="Svea", last_name="Samuelsson",
                      registered_street="Kungsgatan 15")
    response = apply(client, **overrides)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert applications() == []


def test_forgotten_password_refuses_a_personnummer_and_control_characters(client, world):
    for identifier, message in (("19520118-2911", "inget personnummer"), ("anna\x1b", "styrtecken")):
        page = ask(client, identifier).get_data(as_text=True)
        assert message in page, identifier
