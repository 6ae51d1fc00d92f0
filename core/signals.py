"""Events between packages: blinker signals, each declared by the package that sends it.

A lower layer never imports a higher one; when it needs something from above (the sync
engine's progress on the status page, the reserve routine's jobs in the monitor), it sends a
signal its own `signals.py` declares and the higher package connects a receiver in its
init_app(). `core.web.signals`, `status.signals` and `sync.signals` list them all.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from blinker import Signal

log = logging.getLogger("core.signals")


def values(signal: Signal, sender: Any = None, **kwargs: Any) -> list:
    """Send the signal and return what the receivers returned, skipping None."""
    return [value for _receiver, value in signal.send(sender, **kwargs) if value is not None]


def flat_values(signal: Signal, sender: Any = None, **kwargs: Any) -> list:
    """Send the signal to receivers that each return an iterable; return the items joined."""
    return [item for value in values(signal, sender, **kwargs) for item in value]


def first_value(signal: Signal, sender: Any = None, **kwargs: Any) -> Any:
    """Return the first receiver's answer that is not None, asking them in order; None if none answers."""
    for receiver in _receivers(signal, sender):
        value = receiver(sender, **kwargs)
        if value is not None:
            return value
    return None


def send_isolated(signal: Signal, sender: Any = None, *, on_failure: Callable[[], object] | None = None,
                  **kwargs: Any) -> None:
    """Send the signal; a failing receiver is logged (then `on_failure` runs) and never stops the others."""
    for receiver in _receivers(signal, sender):
        try:
            receiver(sender, **kwargs)
        except Exception:  # noqa: BLE001 - the sender's own work is done and committed
            log.exception("a receiver of %s failed", signal.name)
            if on_failure is not None:
                on_failure()


def _receivers(signal: Signal, sender: Any) -> Iterable:
    return list(signal.receivers_for(sender))
