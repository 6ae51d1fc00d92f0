"""The in-process half of bench/prescribing_bench.py: replay each phase through the test client, no HTTP.

Prints where a request's time goes: every SQL statement, the access-log write and how long it holds
SQLite's write lock, what runs after its COMMIT, the PDF render, and the plans of the slowest SELECTs.
"""
from __future__ import annotations

import importlib
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from stores import app_for

# Functions timed in-process (module, attribute): the access-log write is begin_write + insert + commit.
TIMED = {
    "access-log write": (("core.privacy.chokepoint", "record_rows"),),
    "PDF render": (("app.prescribing.printing", "render_prescription_receipt"),),
}


@dataclass
class Profile:
    request_ms: list[float] = field(default_factory=list)
    statements: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    functions: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    first_seen: dict[str, tuple[str, object]] = field(default_factory=dict)
    lock_held_ms: list[float] = field(default_factory=list)  # BEGIN IMMEDIATE until its COMMIT returned
    lock_started: float | None = None
    # After the write commits, every ORM object of the request is expired: what does the rest cost?
    committed_at: float | None = None
    after_commit_ms: list[float] = field(default_factory=list)
    after_commit_statements: int = 0
    cpu_ms: float = 0.0  # this process's CPU time per request
    python_calls: float = 0.0  # Python function calls per request: the same on a busy machine as on a quiet one


def statement_label(statement: str) -> str:
    """Return a short name for an SQL statement: verb, first table, and count(*) when counting."""
    flat = " ".join(statement.split())
    verb = flat.split(" ", 1)[0].upper()
    if verb not in ("SELECT", "INSERT", "UPDATE", "DELETE"):
        return flat[:40]
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", flat)
    kind = " count(*)" if "count(*)" in flat[:40] else ""
    return f"{verb}{kind} {table.group(1) if table else '?'}"


@contextmanager
def profiling(engine: Engine, profile: Profile) -> Iterator[None]:
    """Time every SQL statement and the TIMED functions while the block runs."""
    def before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        conn.info.setdefault("bench_started", []).append(time.perf_counter())
        if statement.startswith("BEGIN IMMEDIATE"):
            profile.lock_started = time.perf_counter()

    def committed(session) -> None:  # noqa: ANN001
        if profile.lock_started is not None:
            profile.committed_at = time.perf_counter()
            profile.lock_held_ms.append((profile.committed_at - profile.lock_started) * 1000)
            profile.lock_started = None

    def after(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        label = statement_label(statement)
        profile.statements[label].append((time.perf_counter() - conn.info["bench_started"].pop()) * 1000)
        profile.first_seen.setdefault(label, (statement, parameters))
        profile.after_commit_statements += profile.committed_at is not None

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(Session, "after_commit", committed)
    originals = []
    for label, targets in TIMED.items():
        for module_name, name in targets:
            module = importlib.import_module(module_name)
            originals.append((module, name, getattr(module, name)))
            setattr(module, name, _timed(getattr(module, name), profile.functions[label]))
    try:
        yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        event.remove(Session, "after_commit", committed)


def _timed(function: Callable, sink: list[float]) -> Callable:
    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            sink.append((time.perf_counter() - started) * 1000)
    return wrapper


def diagnose(url: str, secret_key: str, token: str, phases: dict[str, list[str]], count: int,
             peak_per_second: dict[str, float]) -> None:
    """Replay each phase's paths in-process and print where the time goes and the query plans."""
    from core.extensions import db

    app = app_for(url, secret_key)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    print(f"\nin-process profile ({count} requests per phase, one thread, no HTTP; same store):")
    with app.app_context():
        engine = db.engine
    for name, paths in phases.items():
        profile = Profile()
        for path in paths[:10]:  # warm this process
            client.get(path, headers=headers)
        with profiling(engine, profile):
            for path in paths[:count]:
                profile.committed_at = None
                started = time.perf_counter()
                assert client.get(path, headers=headers).status_code == 200, path
                finished = time.perf_counter()
                profile.request_ms.append((finished - started) * 1000)
                if profile.committed_at is not None:
                    profile.after_commit_ms.append((finished - profile.committed_at) * 1000)
        measure_cost(client, headers, paths[:count], profile)
        print_profile(name, profile, peak_per_second.get(name, 0.0))
        print_plans(engine, profile)


def measure_cost(client, headers: dict[str, str], paths: list[str], profile: Profile) -> None:  # noqa: ANN001
    """Record CPU time per request, then (a second pass) Python function calls per request."""
    started = time.process_time()
    for path in paths:
        client.get(path, headers=headers)
    profile.cpu_ms = (time.process_time() - started) / len(paths) * 1000
    calls = 0

    def count(_frame, event: str, _arg) -> None:  # noqa: ANN001
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        for path in paths:
            client.get(path, headers=headers)
    finally:
        sys.setprofile(None)
    profile.python_calls = calls / len(paths)


def print_profile(name: str, profile: Profile, peak_per_second: float) -> None:
    n = len(profile.request_ms)
    total = sum(profile.request_ms) / n
    ordered = sorted(profile.request_ms)
    print(f"\n  {name}: mean {total:.2f} ms/request, p95 {ordered[int(0.95 * (n - 1))]:.2f} ms; CPU {profile.cpu_ms:.2f} "
          f"ms/request; {profile.python_calls:,.0f} Python calls/request (unmoved by other load: compare runs by it)")
    if profile.lock_held_ms:
        held = sum(profile.lock_held_ms) / n
        # Utilisation of the one write lock at the best HTTP throughput measured: how often a
        # second worker would find it taken and wait (busy timeout) for the access-log insert.
        print(f"    write lock held (BEGIN IMMEDIATE…COMMIT) {held:5.2f} ms/request; at {peak_per_second:.0f} req/s "
              f"the lock is busy {held * peak_per_second / 1000:4.1%} of the time")
        after = sum(profile.after_commit_ms) / n
        print(f"    after that COMMIT (expired objects reloaded, response built) {after:5.2f} ms/request "
              f"({after / total:4.0%}), {profile.after_commit_statements / n:.1f} SQL statements")
    for label, times in profile.functions.items():
        if times:
            share = sum(times) / n
            print(f"    {label:<32} {share:7.2f} ms/request ({share / total:4.0%})")
    for label, times in sorted(profile.statements.items(), key=lambda item: -sum(item[1])):
        share = sum(times) / n
        print(f"    SQL {label:<28} {share:7.2f} ms/request ({share / total:4.0%}), {len(times) / n:.1f} calls")


def print_plans(engine: Engine, profile: Profile) -> None:
    """Print the query plans of the two SELECTs that took the most time."""
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    selects = [label for label in profile.statements if label.startswith("SELECT")]
    slowest = sorted(selects, key=lambda label: -sum(profile.statements[label]))[:2]
    with engine.connect() as c:
        for label in slowest:
            statement, parameters = profile.first_seen[label]
            plan = c.exec_driver_sql(explain + statement, parameters).all()
            print(f"    plan of {label} ({' '.join(statement.split())[:90]}…):")
            for row in plan:
                print(f"      {row[-1]}")
