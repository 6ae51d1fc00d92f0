"""The access log names screens in Swedish, whatever context string a row carries."""
from __future__ import annotations

from core.privacy.screens import screen_name


def test_endpoints_and_hand_written_contexts_get_swedish_screen_names():
    assert screen_name("patients.overview") == "Patientöversikt"
    assert screen_name("prescribing.show") == "Förskrivning"
    assert screen_name("prescribing.receipt") == "Kvitto (PDF)"
    assert screen_name("api.withdrawals.show") == screen_name("withdrawals_api.show") == "Uttag (API)"


def test_contexts_with_a_variable_tail_are_named_by_their_prefix():
    assert screen_name("orders.create.direct_prescription") == "Ny beställning"
    assert screen_name("Efterregistrering 0b7c-key") == "Efterregistrering: post"


def test_an_unknown_context_is_shown_as_it_is():
    assert screen_name("something.new") == "something.new"
