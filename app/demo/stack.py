"""The whole product as real processes in a folder of its own: web app, monitor, reference main server
and, with `siths=True`, the demo SITHS provider (app/demo/idp.py). `web_nodes` and `monitors` run
more than one of each on the same store, as a region runs it (tests/e2e/test_multinode_postgres.py).

`make demo-outage` and the browser tests both use it. Every process shares one simulated clock
(core.clock, `APP_CLOCK_FILE`), so the outage day's four hours can pass in seconds; the
monitor's and sender's timings are made short enough that each step shows within a second or
two. The store is SQLite in the folder; nothing touches the developer's own instance.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests

from app.demo import idp
from core.clock import CLOCK_FILE_VARIABLE, advance_simulated_clock, set_simulated_clock, simulated_now, utcnow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Short real-time cadences; simulated durations (leases) long enough to outlive a four-hour jump.
FAST_SETTINGS = {
    "STATUS_PROBE_INTERVAL_SECONDS": "2", "STATUS_RETRY_INTERVAL_SECONDS": "1", "STATUS_TICK_SECONDS": "1",
    "STATUS_RESERVE_CHECK_SECONDS": "1", "STATUS_NOTIFY_SECONDS": "1", "STATUS_PROBE_CONNECT_TIMEOUT": "0.5",
    "STATUS_PROBE_READ_TIMEOUT": "1", "STATUS_LEASE_SECONDS": "86400", "STATUS_PAGE_CACHE_SECONDS": "0",
    "STATUS_CUSTOMER_SERVICE_OPEN": '{"weekdays": []}',
    "SYNC_CONNECT_TIMEOUT": "0.5", "SYNC_READ_TIMEOUT": "5", "SYNC_BREAKER_COOLDOWN_SECONDS": "1",
    "SYNC_BREAKER_COOLDOWN_CAP_SECONDS": "2", "SYNC_BACKOFF_BASE_SECONDS": "0.2", "SYNC_BACKOFF_CAP_SECONDS": "1",
    "SYNC_LEASE_SECONDS": "86400", "RESERVE_CHECKLIST_SECONDS": "1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, what: str, every: float = 0.2):  # noqa: ANN001, ANN201
    """Poll `condition` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with suppress(requests.RequestException):
            result = condition()
            if result:
                return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class Stack:
    """One installation: its folder, ports, environment and running processes."""

    directory: Path
    patients: int = 200
    database_url: str | None = None  # None: SQLite in the folder
    extra_env: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)  # the first web node's; the others' are free ports
    web_nodes: int = 1
    monitors: int = 1
    main_port: int = field(default_factory=free_port)
    siths: bool = False  # also run the demo SITHS provider, and point the web app's SITHS login at it
    idp_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.web_ports = [self.web_port, *(free_port() for _ in range(self.web_nodes - 1))]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def web_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.web_ports]

    @property
    def web_names(self) -> list[str]:
        """The web nodes' process names: web, web2, …"""
        return [_numbered("web", n) for n in range(len(self.web_ports))]

    @property
    def monitor_names(self) -> list[str]:
        """The monitors' process names: monitor, monitor2, …"""
        return [_numbered("monitor", n) for n in range(self.monitors)]

    @property
    def main_url(self) -> str:
        return f"http://127.0.0.1:{self.main_port}"

    @property
    def idp_url(self) -> str:
        return f"http://127.0.0.1:{self.idp_port}"

    @property
    def clock_file(self) -> Path:
        return self.directory / "clock.json"

    @property
    def store_file(self) -> Path:
        return self.directory / "forskrivning.sqlite3"

    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("STATUS_", "SYNC_", "TEST_", "MAIL_"))}
        env.update(FAST_SETTINGS)
        env.update({
            "FLASK_APP": "app", "INSTANCE_PATH": str(self.directory),
            "DATABASE_URL": self.database_url or f"sqlite:///{self.store_file}",
            "STATUS_MONITOR_LOCK_KEY": str(self.web_port),  # stacks sharing a PostgreSQL never share the lock
            "SECRET_KEY": "demo-stack", CLOCK_FILE_VARIABLE: str(self.clock_file), "MAIN_SERVER_URL": self.main_url,
            "REFERENCE_TARGET_URL": f"{self.web_url}/health", "STATUS_PUBLIC_BASE_URL": self.web_url,
            "APP_BASE_URL": self.web_url,
            "HOST": "127.0.0.1", "PORT": str(self.web_port), "PYTHONUNBUFFERED": "1",
        })
        env["PATH"] = f"{BIN}:{env.get('PATH', '')}"  # bin/web finds the web server in the virtualenv
        if self.siths:
            env.update(idp.environment(self.idp_port))
        env.update(self.extra_env)
        return env

    # --- the clock -------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The shared simulated time (this process reads the same file as the others)."""
        return simulated_now(self.clock_file)

    def advance_clock(self, by: timedelta, speed: float | None = None) -> datetime:
        return advance_simulated_clock(self.clock_file, by, speed)

    def set_clock_speed(self, speed: float) -> datetime:
        return self.advance_clock(timedelta(0), speed)

    # --- processes -------------------------------------------------------------------------------

    def _run(self, *args: str) -> None:
        with (self.directory / "setup.log").open("ab") as log:
            subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=self.env, stdout=log,
                           stderr=subprocess.STDOUT, check=True)

    def _spawn(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = (self.directory / f"{name}.log").open("ab")
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.processes[name] = process
        return process

    def set_up(self) -> None:
        """Create the folder's store: migrate, demo data, demo stock; start the shared clock at now."""
        self.directory.mkdir(parents=True, exist_ok=True)
        set_simulated_clock(self.clock_file, utcnow().replace(microsecond=0))
        self._run("db", "upgrade")
        self._run("seed-demo", "--if-empty", "--patients", str(self.patients))
        self._run("seed-demo-stock")

    def start(self) -> Stack:
        """Set up, then start the main server, the web nodes and the monitors; return when all answer."""
        self.set_up()
        self.start_main_server()
        if self.siths:
            self._spawn("idp", idp.command(self.idp_port))
        for name, port in zip(self.web_names, self.web_ports):
            self._spawn(name, [str(ROOT / "bin" / "web")], PORT=str(port))  # as `make run` starts it
        for name in self.monitor_names:
            self._spawn(name, [str(BIN / "flask"), "monitor"])
        for name, url in zip(self.web_names, self.web_urls):
            wait_until(lambda url=url: requests.get(f"{url}/health", timeout=2).ok, 60, f"the web app ({name})")
        if self.siths:
            wait_until(lambda: requests.get(f"{self.idp_url}/.well-known/openid-configuration", timeout=2).ok, 60,
                       "the demo SITHS provider")
        return self

    def start_main_server(self) -> None:
        self._spawn("main", [sys.executable, "-m", "sync.reference_server", "--host", "127.0.0.1",
                             "--port", str(self.main_port), "--db", str(self.directory / "main_server.sqlite3")])
        wait_until(lambda: requests.get(f"{self.main_url}/health", timeout=2).ok, 30, "the main server")

    def kill(self, name: str) -> None:
        """SIGKILL a process, as a crash would."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.processes.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- looking at it ---------------------------------------------------------------------------

    def active_monitor(self) -> str | None:
        """Return the running monitor that last said it holds the lock (its log's last lock line)."""
        for name in self.monitor_names:
            log = self.directory / f"{name}.log"
            if name in self.processes and log.exists():
                lines = [line for line in log.read_text(errors="replace").splitlines()
                         if "(holds the lock)" in line or "(another monitor holds the lock)" in line]
                if lines and "active (holds the lock)" in lines[-1]:
                    return name
        return None

    def status(self) -> dict:
        return requests.get(f"{self.web_url}/status.json", timeout=5).json()

    def main_server_registrations(self) -> list[dict]:
        return requests.get(f"{self.main_url}/admin/registrations", timeout=5).json()["registrations"]

    def logs(self, tail: int = 40) -> str:
        """The last lines of each process's log, for a failure message."""
        parts = []
        for log in sorted(self.directory.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)


def _numbered(name: str, index: int) -> str:
    return name if index == 0 else f"{name}{index + 1}"
