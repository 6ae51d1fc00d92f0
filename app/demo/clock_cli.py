"""`flask clock`: move the shared simulated clock of a demo installation (core.clock, APP_CLOCK_FILE).

`make run` points every process at instance/clock.json; while that file is absent the clock is
the real one. `flask clock advance 4h` lets a person see the four-hour rule without waiting.
"""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import click

from core.clock import CLOCK_FILE_VARIABLE, advance_simulated_clock, set_simulated_clock, simulated_now, to_local

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _clock_file() -> Path:
    path = os.environ.get(CLOCK_FILE_VARIABLE)
    if not path:
        raise click.ClickException(f"{CLOCK_FILE_VARIABLE} is not set: this installation runs on the real clock. "
                                   "`make run` sets it to instance/clock.json.")
    return Path(path)


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        raise click.BadParameter("use e.g. 4h, 4h1m, 90m or 30s", param_hint="DURATION")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


@click.group("clock")
def clock_command() -> None:
    """Show or move the shared simulated clock (demo and test installations only)."""


@clock_command.command("show")
def show() -> None:
    path = _clock_file()
    state = "simulated" if path.exists() else "real (no clock file yet)"
    click.echo(f"{to_local(simulated_now(path)):%Y-%m-%d %H:%M:%S %Z} ({state})")


@clock_command.command("advance")
@click.argument("duration")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Run this many times faster than real time from now on.")
def advance(duration: str, speed: float | None) -> None:
    """Jump every process of this installation DURATION ahead (e.g. 4h1m)."""
    path, step = _clock_file(), _duration(duration)
    if not path.exists():
        set_simulated_clock(path, simulated_now(path))
    at = advance_simulated_clock(path, step, speed)
    click.echo(f"clock: {to_local(at):%Y-%m-%d %H:%M:%S %Z}")


@clock_command.command("reset")
def reset() -> None:
    """Back to the real time (what was stored in simulated time stays as it is)."""
    _clock_file().unlink(missing_ok=True)
    click.echo("clock: real time")
