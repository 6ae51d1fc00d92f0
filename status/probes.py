"""Check one HTTP target through the outbound chokepoint and say how it went."""
from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from core.outbound import TransportError, request_json


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    latency_ms: int
    detail: str


# The main server's health endpoint must answer 2xx. For the reference target any HTTP
# answer below 500 (a login redirect, a 404 page) proves the regional network is there.
HEALTHY = range(200, 300)
REACHABLE = range(200, 500)

Prober = Callable[[str, Collection[int], tuple[float, float]], ProbeOutcome]


def http_probe(url: str, healthy: Collection[int], timeout: tuple[float, float]) -> ProbeOutcome:
    """GET the URL once with the (connect, read) timeout; healthy if the status is in `healthy`."""
    started = time.perf_counter()
    accepted = [status for status in healthy if not 200 <= status < 300]
    try:
        status, _body = request_json("GET", url, timeout=timeout, accept_statuses=accepted)
    except TransportError as exc:
        latency = _ms(started)
        # A 2xx that is not JSON (an HTML health page) still answered.
        if exc.status is not None and exc.status in healthy:
            return ProbeOutcome(True, latency, f"HTTP {exc.status}")
        return ProbeOutcome(False, latency, exc.message.partition(": ")[2][:120] or "failed")
    return ProbeOutcome(status in healthy, _ms(started), f"HTTP {status}")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
