"""Messages test kit: a real SMTP server on loopback, a client with a fresh `g` per request, named actors."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from core.auth.roles import Role
from tests import factories
from tests.smtp_server import send_mail_nowhere



@pytest.fixture(autouse=True)
def _no_stray_smtp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point mail at a port nobody listens on unless a test starts SMTP; keep attachments per test."""
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    send_mail_nowhere(app, monkeypatch, tmp_path / "instance")



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
