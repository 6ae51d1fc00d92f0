"""Named kill points (failpoints) for the crash tests: SIGKILL this process at a chosen step.

SYNC_KILL_POINT="<name>[:<nth hit>[:<delay seconds>]]" arms one point in this process; unset
(the default, and always in production) every checkpoint is a dictionary lookup and nothing
else. With a delay the kill comes from a timer that many seconds after the point is passed,
which is how "after sending, before the reply" is reached: the request is on the wire and the
server has it, but the answer has not come back. The points:

    during_capture            the item is flushed with the record it registers, not committed
    after_lease_commit        a batch is claimed (in_flight, leased) and committed, nothing sent
    after_send_before_reply   the batch is sent (use a delay, and server latency)
    after_reply_before_commit the answer is in, the local transaction not yet written
    mid_batch                 half of the batch's results are written, the transaction open
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any

from flask import current_app, has_app_context

POINTS = ("during_capture", "after_lease_commit", "after_send_before_reply", "after_reply_before_commit",
          "mid_batch")

_hits: dict[str, int] = {}


def _armed() -> tuple[str, int, float] | None:
    raw = current_app.config.get("SYNC_KILL_POINT") if has_app_context() else None
    if not raw:
        return None
    name, *rest = str(raw).split(":")
    nth = int(rest[0]) if rest and rest[0] else 1
    delay = float(rest[1]) if len(rest) > 1 else 0.0
    return name, nth, delay


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def checkpoint(name: str, session: Any = None) -> None:
    """Kill this process here (now, or after the armed delay) if the point is armed for this hit."""
    armed = _armed()
    if armed is None or armed[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] != armed[1]:
        return
    if session is not None:
        session.flush()  # what the transaction would write is on its way to the store
    if armed[2] > 0:
        timer = threading.Timer(armed[2], _die)
        timer.daemon = True
        timer.start()
        return
    _die()
