"""What the faster cadence of issue #18 costs: an idle `flask monitor` (main server up, nothing to
send) under the default cadence next to the previous one, in the same run.

Prints, per cadence: the monitor's CPU (ms per second of wall time and share of one core), its RSS,
probes stored per minute, and the load average around the run.

    .venv/bin/python bench/monitor_idle_cost.py [--seconds 60] [--database-url URL]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402
from status_detection import PREVIOUS, Cadence, FakeMainServer, store_env  # noqa: E402


def _cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _probes(url: str) -> int:
    from sqlalchemy import create_engine, text

    from core.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM status_probe_results")).scalar_one()
    finally:
        engine.dispose()


def measure(env: dict, tmp: Path, label: str, cadence: Cadence, seconds: float) -> None:
    main = FakeMainServer(harness.free_port())
    reference = FakeMainServer(harness.free_port())
    monitor_env = {**env, **cadence.env(), "MAIN_SERVER_URL": f"http://127.0.0.1:{main.server_port}",
                   "REFERENCE_TARGET_URL": f"http://127.0.0.1:{reference.server_port}/health"}
    try:
        with harness.running([sys.executable, "-m", "flask", "monitor"], monitor_env, tmp / f"{label}.log") as proc:
            time.sleep(5)  # start-up and the first probes are not the steady state
            cpu, probes, began = _cpu_ms(proc.pid), _probes(env["DATABASE_URL"]), time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - began
            cpu = _cpu_ms(proc.pid) - cpu
            probes = _probes(env["DATABASE_URL"]) - probes
            rss = harness.peak_rss_mb(proc.pid)
    finally:
        main.stop()
        reference.stop()
    print(f"  {label:<22} CPU {cpu / elapsed:6.1f} ms/s ({cpu / elapsed / 10:4.1f} % of a core)   "
          f"peak RSS {rss:5.1f} MB   probe results {probes * 60 / elapsed:5.1f}/min   ({cadence.describe()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per cadence")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitor-idle-") as directory:
        tmp = Path(directory)
        env = store_env(tmp, args.database_url)
        subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"store: {env['DATABASE_URL'].split('@')[-1]}   cpus: {os.cpu_count()}   "
              f"load before: {os.getloadavg()[0]:.2f}")
        measure(env, tmp, "baseline (before #18)", PREVIOUS, args.seconds)
        measure(env, tmp, "defaults", Cadence.defaults(), args.seconds)
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
