"""The shared simulated clock (core.clock) and `flask clock`, which demos and browser tests run on."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from core.clock import CLOCK_FILE_VARIABLE, advance_simulated_clock, set_simulated_clock, simulated_now, utcnow
from app.demo.clock_cli import clock_command

REAL = datetime(2026, 3, 2, 9, 0)
SIMULATED = datetime(2026, 3, 2, 7, 0)


@pytest.fixture
def clock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "clock.json"
    monkeypatch.setenv(CLOCK_FILE_VARIABLE, str(path))
    return path


def test_without_a_clock_file_the_clock_is_the_real_one(clock_file: Path) -> None:
    with freeze_time(REAL):
        assert utcnow() == REAL


def test_the_simulated_clock_runs_from_its_anchor_at_its_speed(clock_file: Path) -> None:
    with freeze_time(REAL) as frozen:
        set_simulated_clock(clock_file, SIMULATED, speed=60)
        assert utcnow() == SIMULATED
        frozen.tick(timedelta(seconds=10))
        assert utcnow() == SIMULATED + timedelta(minutes=10)


def test_a_jump_is_seen_at_once_and_keeps_the_speed(clock_file: Path) -> None:
    with freeze_time(REAL) as frozen:
        set_simulated_clock(clock_file, SIMULATED)
        assert utcnow() == SIMULATED  # cached from here on
        advance_simulated_clock(clock_file, timedelta(hours=4))
        assert utcnow() == SIMULATED + timedelta(hours=4)
        frozen.tick(timedelta(seconds=5))
        assert utcnow() == SIMULATED + timedelta(hours=4, seconds=5)


def test_another_process_sees_the_jump(clock_file: Path) -> None:
    set_simulated_clock(clock_file, SIMULATED)
    advance_simulated_clock(clock_file, timedelta(hours=4, minutes=1))
    child = subprocess.run([sys.executable, "-c", "from core.clock import utcnow; print(utcnow().isoformat())"],
                           capture_output=True, text=True, check=True, env={CLOCK_FILE_VARIABLE: str(clock_file)})
    seen = datetime.fromisoformat(child.stdout.strip())
    assert timedelta(hours=4, minutes=1) <= seen - SIMULATED < timedelta(hours=4, minutes=2)


def test_flask_clock_advance_show_and_reset(clock_file: Path) -> None:
    runner = CliRunner()
    with freeze_time(REAL):
        advanced = runner.invoke(clock_command, ["advance", "4h1m"])
        assert advanced.exit_code == 0, advanced.output
        assert simulated_now(clock_file) == REAL + timedelta(hours=4, minutes=1)
        assert "2026-03-02 14:01:00 CET" in advanced.output  # Stockholm time
        assert "(simulated)" in runner.invoke(clock_command, ["show"]).output
        assert runner.invoke(clock_command, ["reset"]).exit_code == 0
        assert utcnow() == REAL


def test_flask_clock_refuses_a_bad_duration_and_a_real_installation(clock_file: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    bad = runner.invoke(clock_command, ["advance", "four hours"])
    assert bad.exit_code == 2 and "DURATION" in bad.output
    assert not clock_file.exists()
    monkeypatch.delenv(CLOCK_FILE_VARIABLE)
    refused = runner.invoke(clock_command, ["advance", "4h"])
    assert refused.exit_code == 1 and CLOCK_FILE_VARIABLE in refused.output
