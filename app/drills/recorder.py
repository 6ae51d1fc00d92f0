"""The drill's log: each step with its simulated moment, actor, result and real duration."""
from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from core.errors import DomainError, ValidationFailed
from core.formatting import duration_text


@dataclass
class Recorder:
    """The drill's log: each step with its simulated moment, actor, result and real duration."""

    start: datetime
    on_step: Callable[[list[dict]], None] | None = None  # told after each step
    events: list[dict] = field(default_factory=list)

    @contextmanager
    def step(self, at: datetime, what: str, who: str):  # noqa: ANN201
        entry = {"sim_time": offset(self.start, at), "what": what, "who": who, "result": "", "ok": True}
        began = time.perf_counter()
        try:
            yield entry
        except (DomainError, ValidationFailed) as exc:
            entry["ok"], entry["result"] = False, getattr(exc, "message", str(exc))
        finally:
            entry["real_ms"] = (time.perf_counter() - began) * 1000
            self.events.append(entry)
            if self.on_step is not None:
                self.on_step(self.events)


def offset(start: datetime, at: datetime) -> str:
    """Return the moment as time after the outage start, e.g. \"T+4 h\"."""
    seconds = int((at - start).total_seconds())
    sign = "−" if seconds < 0 else "+"
    return f"T{sign}{duration_text(abs(seconds))}"
