"""Mail outbox test kit: mail goes to a loopback port nobody listens on unless a test starts SMTP."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.smtp_server import send_mail_nowhere


@pytest.fixture(autouse=True)
def _no_stray_smtp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    send_mail_nowhere(app, monkeypatch, tmp_path / "instance")
