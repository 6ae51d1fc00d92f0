"""Real processes for the crash tests (also used by bench/sync_soak.py): `flask sync run` and a capturer."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def environment(store_url: str, main_server_url: str, **overrides: object) -> dict[str, str]:
    """The environment of a sync process on this store, pointed at this main server, with fast settings."""
    env = {
        **os.environ,
        "FLASK_APP": "app", "DATABASE_URL": store_url, "SECRET_KEY": "sync-crash-test",
        "MAIN_SERVER_URL": main_server_url, "SYNC_SITE_ID": "test-site", "SYNC_BATCH_SIZE": "10",
        "SYNC_LEASE_SECONDS": "0.5", "SYNC_CONNECT_TIMEOUT": "1", "SYNC_READ_TIMEOUT": "3",
        "SYNC_BACKOFF_BASE_SECONDS": "0.01", "SYNC_BACKOFF_CAP_SECONDS": "0.05",
        "SYNC_IN_PROGRESS_RETRY_SECONDS": "0.05", "SYNC_BREAKER_COOLDOWN_SECONDS": "0.05",
        "SYNC_BREAKER_COOLDOWN_CAP_SECONDS": "0.2",
    }
    env.pop("TEST_DATABASE_URL", None)
    env.pop("SYNC_KILL_POINT", None)
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def sync_run(env: dict[str, str], log: Path, *, timeout: float = 60) -> subprocess.Popen:
    """Start `flask sync run` (it drains, or dies at its kill point)."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "sync", "run", "--timeout", str(timeout), "--quiet"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def capturer(env: dict[str, str], log: Path, count: int, first: int) -> subprocess.Popen:
    """Start a process that saves `count` prescriptions through the prescribing service."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.service.sync.capture_worker", str(count), str(first)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, timeout: float = 60) -> int:
    """Wait for the process; kill it if it hangs; return its exit status (-9: SIGKILLed)."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        raise
