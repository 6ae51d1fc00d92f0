"""`make run`'s escalation addresses: every role of the escalation plans has one, so the demo's outage mails land in the catcher."""
from __future__ import annotations

import json
from pathlib import Path

from status.rules import ESCALATION_ROLES
from status.settings import MonitorSettings, apply_environment

DEMO_FILE = Path(__file__).resolve().parents[2] / "app" / "demo" / "escalation_recipients.json"


def test_the_demo_names_an_address_for_every_escalation_role(app):
    config = dict(app.config)
    # make run hands the file's text to the processes as STATUS_ESCALATION_RECIPIENTS (Makefile RUN_ENV).
    apply_environment(config, {"STATUS_ESCALATION_RECIPIENTS": DEMO_FILE.read_text(encoding="utf-8")})
    recipients = MonitorSettings.from_config(config).recipients
    assert set(recipients) == set(ESCALATION_ROLES)
    assert all(address.endswith(".example") for addresses in recipients.values() for address in addresses)
    assert json.loads(DEMO_FILE.read_text(encoding="utf-8"))  # plain JSON, no comments
