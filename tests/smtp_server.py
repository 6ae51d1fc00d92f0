"""A real SMTP server on loopback for the tests that send mail (aiosmtpd)."""
from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def send_mail_nowhere(app: Flask, monkeypatch: pytest.MonkeyPatch, instance_path: Path) -> None:
    """Point the app's mail at a loopback port nobody listens on (a test that wants mail starts SMTP)
    and give it an instance folder of the test's own (stored files, e.g. attachments)."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 2.0)
    monkeypatch.setattr(app, "instance_path", str(instance_path))


@pytest.fixture(autouse=True)
def no_stray_smtp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point mail at a port nobody listens on unless a test starts SMTP; an instance folder per test.

    Import it into a test package's conftest.py to have it there for every test that uses the app.
    """
    if "app" not in request.fixturenames:
        return
    send_mail_nowhere(request.getfixturevalue("app"), monkeypatch, tmp_path / "instance")


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.messages if address in rcpt]
