"""Access test kit: a real SMTP server on loopback, a client with a fresh `g` per request, named actors."""
from __future__ import annotations

import pytest
from flask import Flask

from core.auth.roles import Role
from tests import factories
from tests.smtp_server import no_stray_smtp  # noqa: F401 - autouse: mail nowhere, an instance folder per test



@pytest.fixture(autouse=True)
def _access_settings(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Links on a known base; no delay. (Mail goes nowhere unless a test starts SMTP: no_stray_smtp.)"""
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    monkeypatch.setitem(app.config, "APP_BASE_URL", "https://portal.example")
    monkeypatch.setitem(app.config, "ACCESS_RESET_MIN_RESPONSE_SECONDS", 0)



@pytest.fixture
def world(ctx):
    """The business owner who handles applications, two units, the product areas, and an existing prescriber."""
    factories.all_product_areas()
    north = factories.unit(name="Vårdcentralen Norra Fäladen", customer_number="410215",
                           payer_areas=("inkontinens", "nutrition"))
    home = factories.unit(name="Hemsjukvården Lund", customer_number="420107", payer_areas=("inkontinens",))
    return {
        "north": north,
        "home": home,
        "boss": factories.user("boss", roles=(Role.ADMIN,), name="Karin Bengtsson", email="boss@region.example"),
        "anna": factories.user("anna", areas=("inkontinens",), units=(north,), name="Anna Lindström",
                               email="anna@region.example", workplace="Vårdcentralen Norra Fäladen"),
    }
