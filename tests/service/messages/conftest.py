"""Messages test kit: a real SMTP server on loopback, a client with a fresh `g` per request, named actors."""
from __future__ import annotations

import pytest

from core.auth.roles import Role
from tests import factories
from tests.smtp_server import no_stray_smtp  # noqa: F401 - autouse: mail nowhere, attachments per test



@pytest.fixture
def world(ctx):
    """Customer service (a sender), a unit with two active prescribers and one who has left, and an outsider."""
    unit = factories.unit(name="Vårdcentralen Norr")
    other = factories.unit(name="Vårdcentralen Söder")
    return {
        "unit": unit,
        "other_unit": other,
        "maria": factories.user("maria", roles=(Role.CUSTOMER_SERVICE,), name="Maria Kundservice",
                                email="maria@region.example"),
        "karin": factories.user("karin", units=(unit,), name="Karin Ek", email="karin@region.example"),
        "olle": factories.user("olle", units=(unit,), name="Olle Berg", email="olle@region.example"),
        "gone": factories.user("gone", units=(unit,), name="Gunnar Slutat", email="gone@region.example",
                               active=False),
        "sven": factories.user("sven", units=(other,), name="Sven Annan", email="sven@region.example"),
    }
