"""The demo mail catcher: an SMTP server on loopback (aiosmtpd) that keeps every message as an .eml file.

`python -m app.demo.mailcatcher --port 1025 --dir instance/mail` (the Procfile's `mail`) starts it;
`make run` points the product's mail at it (MAIL_SERVER=127.0.0.1, MAIL_PORT=1025), so nothing
leaves the machine and a newcomer can read every mail: as a file, in any mail program, or on the
admin page "Utgående e-post". A real SMTP server is only a matter of configuration (docs/operations.md).
"""
from __future__ import annotations

import argparse
import itertools
import os
import signal
import threading
from datetime import datetime, timezone
from pathlib import Path

from aiosmtpd.controller import Controller

DEFAULT_PORT = 1025


class EmlFolder:
    """An aiosmtpd handler that writes each message it accepts to its own .eml file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count(1)

    def path_for(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        return self.directory / f"{stamp}-{os.getpid()}-{next(self._numbers):04d}.eml"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        target = self.path_for()
        partial = target.with_suffix(".part")  # a reader never sees half a message
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.replace(target)
        return "250 Message accepted for delivery"


def start(directory: Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> Controller:
    """Start the catcher in a thread of this process; stop it with `.stop()`."""
    controller = Controller(EmlFolder(directory), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Keep every mail sent to this SMTP server as an .eml file.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dir", type=Path, default=Path("instance/mail"), help="folder of the .eml files")
    args = parser.parse_args(argv)
    controller = start(args.dir, args.port, args.host)
    print(f"mail catcher on {args.host}:{args.port}, keeping messages in {args.dir}", flush=True)
    stopped = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
