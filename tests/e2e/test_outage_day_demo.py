"""`make demo-outage` end to end: the demo's entry point as a subprocess on a folder of its own.

The demo always runs on SQLite (its own store in the folder), also when TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.demo.stack import ROOT

FINAL_LINE = re.compile(r"^reconciliation: (\d+) captured, (\d+) registered, (\d+) missing$")
TIMEOUT_SECONDS = 300


def test_outage_day_demo_ends_balanced_with_nothing_missing(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "app.demo.outage_day", "--directory", str(tmp_path / "demo"),
               "--patients", "30", "--pause", "0"]
    demo = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = demo.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        demo.send_signal(signal.SIGTERM)  # the demo stops the processes it started on SIGTERM
        output, _ = demo.communicate(timeout=60)
        pytest.fail(f"the demo took more than {TIMEOUT_SECONDS} s:\n{output}")

    assert demo.returncode == 0, output
    final = FINAL_LINE.match(output.strip().splitlines()[-1])
    assert final, output
    captured, registered, missing = map(int, final.groups())
    assert (captured, missing) == (registered, 0)
    assert captured >= 2, output
