"""The issue's goals for bench/prescribing_bench.py, judged on measurements of one run.

Search (issue #18 point 6): at 4 clients the server's own p95 ≤ 5 ms, ≥ 300 req/s, and p95 ≤ 5 × the
p95 of a bare endpoint measured on the same server in the same run (so a busy machine moves both).
Receipt PDFs: throughput and cores used should grow with clients up to the workers; a table shows
req/s, cores, CPU per request, the speed-up over one client and how evenly the workers shared the work.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from harness import Measurement

SEARCH_SERVER_P95_MS = 5.0
SEARCH_PER_SECOND = 300.0
BARE_RATIO = 5.0
GOAL_CONCURRENCY = 4


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average (uptime): {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def _at(results: Sequence[Measurement], name: str, concurrency: int, client: str) -> Measurement | None:
    return next((m for m in results if (m.name, m.concurrency, m.client) == (name, concurrency, client)), None)


def _clients(results: Sequence[Measurement]) -> list[str]:
    return list(dict.fromkeys(m.client for m in results))


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_search_goals(results: Sequence[Measurement], searches: Sequence[str], bare: str, server: str) -> None:
    """Print PASS/FAIL per search phase against the three goals at GOAL_CONCURRENCY clients, per load generator."""
    for client in _clients(results):
        print(f"\nsearch goals at {GOAL_CONCURRENCY} clients from {client} (server p95 from {server}'s own request time):")
        reference = _at(results, bare, GOAL_CONCURRENCY, client)
        if reference is None:
            print(f"  (no '{bare}' measurement at {GOAL_CONCURRENCY} clients: add {GOAL_CONCURRENCY} to --concurrency)")
            continue
        bare_p95 = reference.percentile(95, reference.server_ms)
        print(f"  bare endpoint {bare}: server p95 {bare_p95:.2f} ms, {reference.per_second:.0f} req/s, "
              f"CPU {reference.cpu_ms_per_request:.2f} ms/request; the client used {reference.cores['client']:.2f} cores")
        for name in searches:
            m = _at(results, name, GOAL_CONCURRENCY, client)
            if m is not None:
                _print_search_goal(m, bare_p95)
    print(f"  {load_line()}")


def _print_search_goal(m: Measurement, bare_p95: float) -> None:
    p95 = m.percentile(95, m.server_ms)
    ratio = p95 / bare_p95 if bare_p95 else float("inf")
    errors = f", {m.errors} errors" if m.errors else ""
    print(f"  {_verdict(p95 <= SEARCH_SERVER_P95_MS and not m.errors)}  {m.name:<14} server p95 {p95:5.2f} ms "
          f"(≤ {SEARCH_SERVER_P95_MS:.0f} ms){errors}")
    print(f"  {_verdict(m.per_second >= SEARCH_PER_SECOND)}  {m.name:<14} {m.per_second:5.0f} req/s "
          f"(≥ {SEARCH_PER_SECOND:.0f}); CPU {m.cpu_ms_per_request:.2f} ms/request; the client used "
          f"{m.cores['client']:.2f} cores")
    print(f"  {_verdict(ratio <= BARE_RATIO)}  {m.name:<14} server p95 {ratio:4.1f} × the bare endpoint's "
          f"(≤ {BARE_RATIO:.0f} ×)")


def print_scaling(results: Sequence[Measurement], name: str, workers: int) -> None:
    """Print how a phase's throughput and cores grew with the clients, against one client, per load generator."""
    for client in _clients(results):
        rows = sorted((m for m in results if (m.name, m.client) == (name, client)), key=lambda m: m.concurrency)
        if not rows:
            continue
        base = rows[0].per_second
        print(f"\n{name} with more clients from {client} ({workers} workers; evenly spread, the busiest worker's "
              f"share of the workers' CPU is {1 / workers:.0%}):")
        for m in rows:
            print(f"  c={m.concurrency}  {m.per_second:6.1f} req/s  ×{m.per_second / base:4.2f}  workers "
                  f"{m.cores['workers']:.2f} cores  CPU {m.cpu_ms_per_request:5.1f} ms/request  busiest worker "
                  f"{m.busiest_worker_share:4.0%}  server p95 {m.percentile(95, m.server_ms):6.1f} ms  "
                  f"(other processes {m.cores['other']:.2f} cores)")
