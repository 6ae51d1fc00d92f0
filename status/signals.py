"""Signals the status monitor sends; higher packages connect receivers in their init_app()."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

monitor_jobs = _signals.signal("monitor-jobs", doc="""
Sent with the app as sender when `flask monitor` builds its schedule. Receivers return the
status.tasks.Job items they want run in the monitor process, under its single-monitor lock.
""")

public_sync_progress = _signals.signal("public-sync-progress", doc="""
Sent with the moment (`now=`) while the public status is built. A receiver returns the
back-registration progress (numbers only, never personal data) for the page, or None.
""")

data_as_of = _signals.signal("data-as-of", doc="""
Asked how fresh the local data is. A receiver returns the moment of the last complete sync with
the main server, or None when it does not know; without an answer, the last moment the monitor
saw the main server answer is used.
""")
