"""The demo mail catcher of `make run` (app/demo/mailcatcher.py), run as its own process: one .eml per mail."""
from __future__ import annotations

import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from app.demo.stack import ROOT, wait_until
from core.extensions import db
from core.mail_outbox import queue_mail
from tests.smtp_server import free_port


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_catcher_keeps_each_mail_the_outbox_sends_as_an_eml_file(app, ctx, tmp_path: Path, monkeypatch):
    port, folder = free_port(), tmp_path / "mail"
    catcher = subprocess.Popen([sys.executable, "-m", "app.demo.mailcatcher", "--port", str(port), "--dir",
                                str(folder)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _listening(port), 15, "the mail catcher", every=0.05)
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        queue_mail(db.session, "anna@region.example", "Återställ lösenord", "Välj ett nytt lösenord: https://x/y")
        queue_mail(db.session, "bertil@region.example", "Kvitto", "Ansökan är mottagen.")
        db.session.commit()
        files = wait_until(lambda: sorted(folder.glob("*.eml")) if len(list(folder.glob("*.eml"))) == 2 else None,
                           10, "two .eml files")
    finally:
        catcher.send_signal(signal.SIGTERM)
        assert catcher.wait(10) == 0
    messages = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files]
    assert sorted(str(m["To"]) for m in messages) == ["anna@region.example", "bertil@region.example"]
    reset = next(m for m in messages if m["To"] == "anna@region.example")
    assert reset["Subject"] == "Återställ lösenord" and "https://x/y" in reset.get_content()
    assert not list(folder.glob("*.part"))
