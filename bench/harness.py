"""Shared by the HTTP benchmarks: gunicorn on a free loopback port, CPU and memory accounting, timed phases.

A figure is only as good as the machine was quiet: every measurement also says how many cores processes
other than the server and the client used meanwhile, and `busy_note` says when that makes it suspect.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DISTURBED_CORES = 0.15  # CPU used by other processes during a measurement above which its figures are suspect


# ---------------------------------------------------------------- processes


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Return True as soon as `condition` holds, False after `timeout` seconds; OSError counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:  # requests' errors are OSErrors too
            pass
        time.sleep(step)
    return False


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run `command` from the project root with its output in `log`; always stop it (SIGTERM, then SIGKILL).

    Its whole process group: granian's workers outlive a killed main process (gunicorn's notice and exit).
    """
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass(frozen=True)
class Server:
    base_url: str
    port: int
    pid: int
    log: Path
    options: str  # the command-line settings given on top of gunicorn.conf.py

    def worker_pids(self) -> list[int]:
        return [int(p) for p in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()]

    def pids(self) -> list[int]:
        """Return the master's and its workers' process ids."""
        return [self.pid, *self.worker_pids()]


# gunicorn.conf.py's access-log line with the request time in µs (%(D)s) instead of whole ms, for
# benchmarks whose answers take a few ms: `options=("--access-logformat", MICROSECOND_LOG_FORMAT)`.
MICROSECOND_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(D)sus'


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int | None = None, options: Sequence[str] = (),
             timeout: float = 60) -> Iterator[Server]:
    """Start the app under gunicorn.conf.py (with `workers` and `options` on top) on a free loopback port.

    Yields once /health answers and, with `workers`, that many workers are up; always stops gunicorn.
    """
    port = free_port()
    settings = [*(("--workers", str(workers)) if workers is not None else ()), *options]
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", *settings, "app.wsgi:app"]
    with running(command, {**env, "HOST": "127.0.0.1", "PORT": str(port)}, log) as process:
        server = Server(f"http://127.0.0.1:{port}", port, process.pid, log, " ".join(settings))

        def ready() -> bool:
            if process.poll() is not None:
                sys.exit(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            with urllib.request.urlopen(f"{server.base_url}/health", timeout=5):  # raises unless 2xx
                return workers is None or len(server.worker_pids()) == workers

        if not wait_until(ready, timeout, step=0.2):
            sys.exit(f"gunicorn did not answer /health within {timeout:.0f} s")
        yield server


def default_shape(server: str) -> tuple[str, str]:
    """Return the server's default WEB_WORKERS and WEB_THREADS, read from bin/web (granian) or gunicorn.conf.py."""
    if server == "granian":
        text, pattern = (ROOT / "bin" / "web").read_text(), r'"\$\{%s:-(\d+)\}"'
    else:
        text, pattern = (ROOT / "gunicorn.conf.py").read_text(), r'os\.environ\.get\("%s", "(\d+)"\)'
    workers, threads = (re.search(pattern % name, text) for name in ("WEB_WORKERS", "WEB_THREADS"))
    return workers.group(1), threads.group(1)


WORKER_STARTED = re.compile(r"Started worker-|Booting worker")  # granian's line, gunicorn's


@contextmanager
def web(server: str, env: dict[str, str], log: Path, app: str = "app.wsgi:app",
        ready_path: str = "/health") -> Iterator[Server]:
    """Start bin/web (the product's web command) with WEB_SERVER=server and WEB_APP=app on a free port.

    Yields once `ready_path` answers and every worker (WEB_WORKERS, bin/web's default otherwise) is up;
    always stops it.
    """
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {**env, "WEB_SERVER": server, "WEB_APP": app, "HOST": "127.0.0.1", "PORT": str(port),
           "PATH": f"{bin_dir}:{env.get('PATH', '')}"}
    default_workers, default_threads = default_shape(server)
    workers = int(env.get("WEB_WORKERS", default_workers))
    with running([str(ROOT / "bin" / "web")], env, log) as process:
        options = f"bin/web, WEB_SERVER={server}, {workers} workers"
        if server == "granian":
            options += f" × {env.get('WEB_THREADS', default_threads)} threads"
        started = Server(f"http://127.0.0.1:{port}", port, process.pid, log, options)

        def ready() -> bool:
            if process.poll() is not None:
                sys.exit(f"{server} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            with urllib.request.urlopen(f"{started.base_url}{ready_path}", timeout=5):
                # Every worker up: a SIGTERM while one still loads the app can leave granian waiting for it.
                return len(WORKER_STARTED.findall(log.read_text())) >= workers
        if not wait_until(ready, 60, step=0.2):
            sys.exit(f"{server} did not answer {ready_path} within 60 s")
        yield started


# ---------------------------------------------------------------- CPU and memory


def _cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:  # utime and stime are fields 14 and 15; the command name before them may contain spaces
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def _machine_ticks() -> int:
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return user + nice + system + irq + softirq + steal


class CpuMeter:
    """CPU time of named groups of processes and of the whole machine while a `with` block runs."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self._groups = groups
        self.seconds = self.machine = 0.0  # wall time; CPU seconds of the whole machine
        self.used: dict[str, float] = {}  # CPU seconds per group

    def __enter__(self) -> CpuMeter:
        self._before = {name: _cpu_ticks(pids) for name, pids in self._groups.items()}, _machine_ticks()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self._started
        tick = os.sysconf("SC_CLK_TCK")
        groups, machine = self._before
        self.used = {name: (_cpu_ticks(pids) - groups[name]) / tick for name, pids in self._groups.items()}
        self.machine = (_machine_ticks() - machine) / tick

    def cores(self, name: str) -> float:
        return self.used[name] / self.seconds

    def other_cores(self, elsewhere: float = 0.0, only: Sequence[str] | None = None) -> float:
        """Return the cores used outside the groups (or the groups named in `only`), less `elsewhere` CPU seconds."""
        ours = sum(seconds for name, seconds in self.used.items() if only is None or name in only)
        return max(0.0, self.machine - ours - elsewhere) / self.seconds


def busy_note(busiest: float, during: str, advice: str) -> str | None:
    """Return the NOTE that other processes used enough CPU to make the figures suspect, if they did."""
    if busiest <= DISTURBED_CORES:
        return None
    return f"NOTE: other processes used up to {busiest:.2f} cores during {during}{advice}"


def reset_peak_rss(pids: list[int]) -> None:
    """Reset the processes' peak RSS (VmHWM), so the next peak belongs to what follows alone."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mb(pid: int) -> float:
    """Return the process's peak RSS (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    """Return the nearest-rank `p`th percentile of the values (NaN for none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


# ---------------------------------------------------------------- timed phases through the HTTP API


def token_for(base_url: str, username: str) -> str:
    """Return an API token for a demo user (password `demo`)."""
    response = requests.post(f"{base_url}/api/v1/tokens", json={"username": username, "password": "demo"}, timeout=30)
    response.raise_for_status()
    return response.json()["token"]


@dataclass(frozen=True)
class ClientRun:
    """What a load generator saw: each answer's latency, the failures, and its own CPU if it ran apart."""

    latencies_ms: list[float]
    errors: int
    process_cpu_seconds: float = 0.0  # a separate process's CPU (wrk); the Python client is metered by pid


class Client:
    """GET with a bearer token from Python threads, one requests.Session per thread."""

    name = "python"

    def __init__(self, base_url: str, token: str) -> None:
        self._base_url, self._token, self._local = base_url, token, threading.local()

    def get(self, path: str) -> tuple[float, bool]:
        """Return the latency in ms and whether the answer was a 200."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self._token}"
        started = time.perf_counter()
        response = session.get(self._base_url + path, timeout=60)
        _ = response.content
        if response.status_code != 200:  # say what failed: the status and the endpoint, never the query
            print(f"  ! {response.status_code} from {path.split('?')[0]}: {response.text[:160]!r}", flush=True)
        return (time.perf_counter() - started) * 1000, response.status_code == 200

    def run(self, paths: list[str], concurrency: int) -> ClientRun:
        """Send each path once from `concurrency` threads, each waiting for its answer before the next."""
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(self.get, paths))
        return ClientRun([ms for ms, _ in results], sum(not ok for _, ok in results))


WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_paths.lua"


def require_wrk() -> str:
    """Return wrk's path, or exit saying how to install it."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("`wrk` is not installed; it is the load tool (Debian: apt-get install -y wrk, "
                 "for benchmarks only, not a dependency of the application)")
    return wrk


class WrkClient:
    """The same closed loop from wrk (C, one thread, `concurrency` connections): a load generator that
    leaves the server the cores the Python client's ~1 ms of CPU per request takes on a small machine."""

    def __init__(self, base_url: str, token: str, work: Path, think_ms: int = 0) -> None:
        """`think_ms`: each connection pauses that long after an answer, as a user would (0: at once)."""
        self._binary = require_wrk()
        self._base_url, self._token, self._paths_file = base_url, token, work / "wrk-paths.txt"
        self._env = {**os.environ, "WRK_THINK_MS": str(think_ms)} if think_ms else None
        self.name = f"wrk+{think_ms}ms" if think_ms else "wrk"

    def run(self, paths: list[str], concurrency: int) -> ClientRun:
        """Send each path once over `concurrency` kept-alive connections, then read wrk's own latencies."""
        self._paths_file.write_text("\n".join(paths) + "\n")
        before = _children_cpu_seconds()
        with subprocess.Popen([self._binary, "-t1", f"-c{concurrency}", "-d600s", "--timeout", "60s", "-s", str(WRK_SCRIPT),
                               self._base_url, "--", str(self._paths_file), self._token],
                              stdout=subprocess.PIPE, text=True, env=self._env) as wrk:
            for line in wrk.stdout:  # wrk's main thread sleeps out -d; the script says when all are answered
                if line == "ANSWERED\n":
                    wrk.send_signal(signal.SIGINT)
                    break
            output = wrk.stdout.read()
        if wrk.returncode != 0:
            sys.exit(f"wrk failed with {wrk.returncode}:\n{output[-2000:]}")
        latencies = [int(us) / 1000 for us, count in re.findall(r"^LATENCY (\d+) (\d+)$", output, re.MULTILINE)
                     for _ in range(int(count))]
        errors = int(re.search(r"^ERRORS (\d+)$", output, re.MULTILINE).group(1))
        return ClientRun(latencies, errors, _children_cpu_seconds() - before)


def _children_cpu_seconds() -> float:
    """Return the CPU seconds of this process's ended and waited-for children (wrk, once it has run)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


@dataclass(frozen=True)
class Plan:
    """How each phase is measured: `warmup` requests, then `requests` fresh ones at each concurrency level."""

    warmup: int
    requests: int
    levels: tuple[int, ...]
    warm_threads: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        """Read --warmup, --requests, --concurrency and --workers."""
        return cls(args.warmup, args.requests, tuple(sorted(set(args.concurrency))), max(2, args.workers))

    @property
    def paths_needed(self) -> int:
        return self.warmup + len(self.levels) * self.requests


@dataclass
class Measurement:
    """One phase at one concurrency level."""

    name: str
    target_ms: float | None  # p95
    concurrency: int
    latencies_ms: list[float]  # client-side
    seconds: float
    errors: int
    server_ms: list[float]  # the server's own request times: gunicorn's µs (MICROSECOND_LOG_FORMAT), granian's ms
    peak_rss_mb: float  # the workers' highest
    cores: dict[str, float]  # CPU used meanwhile: workers (with the master), client, other processes
    worker_cpu_seconds: tuple[float, ...] = ()  # each worker's own, in worker order: how the load was spread
    client: str = "python"  # the load generator: Client.name or WrkClient.name

    @property
    def cpu_ms_per_request(self) -> float:
        """Return the workers' (and master's) CPU time per answered request, in ms."""
        return self.cores["workers"] * self.seconds / max(len(self.latencies_ms), 1) * 1000

    @property
    def busiest_worker_share(self) -> float:
        """Return the share of the workers' CPU the busiest one used (1/workers: evenly spread)."""
        total = sum(self.worker_cpu_seconds)
        return max(self.worker_cpu_seconds) / total if total else float("nan")

    def percentile(self, p: float, values: list[float] | None = None) -> float:
        return percentile(self.latencies_ms if values is None else values, p)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def passed(self) -> bool | None:
        if self.target_ms is None:
            return None
        return self.errors == 0 and self.percentile(95) <= self.target_ms


def measure(server: Server, client: Client | WrkClient, name: str, target_ms: float | None, paths: list[str],
            concurrency: int) -> Measurement:
    """Send the paths with `concurrency` clients; return latencies, server-side times, peak RSS and CPU."""
    workers = server.worker_pids()
    reset_peak_rss(workers)
    log_offset = server.log.stat().st_size
    per_worker = {f"worker {pid}": [pid] for pid in workers}
    with CpuMeter({"workers": [server.pid, *workers], "client": [os.getpid()], **per_worker}) as cpu:
        run = client.run(paths, concurrency)
    time.sleep(0.3)  # let the access-log lines land
    with server.log.open("rb") as f:  # the server's own request time (ms or µs) of the answers that were 200s
        f.seek(log_offset)
        server_ms = [float(time) / (1000 if unit == b"us" else 1)
                     for time, unit in re.findall(rb'" 200 \S+ ([\d.]+)(ms|us)$', f.read(), re.MULTILINE)]
    cores = {"workers": cpu.cores("workers"),
             "client": (cpu.used["client"] + run.process_cpu_seconds) / cpu.seconds,
             "other": cpu.other_cores(run.process_cpu_seconds, only=("workers", "client"))}  # per-worker groups are within "workers"
    return Measurement(name, target_ms, concurrency, run.latencies_ms, cpu.seconds, run.errors, server_ms,
                       max(peak_rss_mb(pid) for pid in workers), cores, tuple(cpu.used[name] for name in per_worker),
                       client.name)


def measure_phase(server: Server, client: Client | WrkClient, name: str, target_ms: float | None, paths: list[str],
                  plan: Plan, show: Callable[[Measurement], None], retries: int = 0) -> list[Measurement]:
    """Warm every worker up, then measure the phase at each level; a disturbed one again, up to `retries` times."""
    client.run(paths[:plan.warmup], plan.warm_threads)
    rest = paths[plan.warmup:]
    results = []
    for i, level in enumerate(plan.levels):
        for attempt in range(1 + retries):
            result = measure(server, client, name, target_ms, rest[i * plan.requests:(i + 1) * plan.requests], level)
            show(result)
            if result.cores["other"] <= DISTURBED_CORES or attempt == retries:
                break
            print(f"{'':<19} ^ disturbed by other processes; measuring again")
        results.append(result)
    return results


def print_verdicts(results: list[Measurement], heading: str, width: int) -> None:
    """Print PASS/FAIL against each phase's target, and the NOTE when other processes were busy."""
    print(heading)
    for m in results:
        if m.passed is not None:
            errors = f", {m.errors} errors" if m.errors else ""
            print(f"  {'PASS' if m.passed else 'FAIL'}  {m.name:<{width}} {m.client:<8} c={m.concurrency}: p95 "
                  f"{m.percentile(95):6.1f} ms (target ≤ {m.target_ms:.0f} ms){errors}")
    note = busy_note(max(m.cores["other"] for m in results), "a phase", " (on PostgreSQL the database server "
                     "counts here); on SQLite, rerun on a quiet machine before trusting these figures")
    if note:
        print(f"  {note}")
