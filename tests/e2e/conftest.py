"""Shared by the tests that start real processes: a real SMTP server on loopback they send their mail to."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.smtp_server import Inbox, free_port


@pytest.fixture(scope="session")
def mail_server() -> Iterator[Controller]:
    """A real SMTP server on loopback (aiosmtpd) that the started processes send their mail to."""
    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def inbox(mail_server: Controller) -> Inbox:
    """Every mail sent to `mail_server` in this run, from any test: look for your own recipient."""
    return mail_server.handler
