"""`flask reserve drill` and `flask reserve run-drill`: a drill from the command line or the drill page."""
from __future__ import annotations

import json
import signal
import sys

import click
from flask.cli import with_appcontext

from reserve.cli import reserve_group


@reserve_group.command("drill")
@click.option("--as", "username", default="admin", show_default=True, help="The admin who runs the drill.")
@with_appcontext
def drill_command(username: str) -> None:
    """Run a drill of the whole routine in a sandbox store here and print its report."""
    from sqlalchemy import select

    from core.extensions import db
    from core.models import User
    from app.drills.runner import run_drill

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    _echo_report(run_drill(user))


@reserve_group.command("run-drill")
@click.argument("drill_id", type=int)
@with_appcontext
def run_drill_command(drill_id: int) -> None:
    """Run a drill queued from the drill page (started there in a process of its own)."""
    from core.errors import DomainError
    from app.drills.runner import execute

    # SIGTERM unwinds like an error, so the drill is stored as failed rather than left running.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        drill = execute(drill_id)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    _echo_report(drill)


def _echo_report(drill) -> None:  # noqa: ANN001
    report = json.loads(drill.report)
    for event in report["events"]:
        mark = "ok " if event["ok"] else "FEL"
        click.echo(f"{mark} {event['sim_time']:>14}  {event['what']} – {event['result']} ({event['real_ms']:.0f} ms)")
    click.echo(report["summary"])
    if drill.status != "finished":
        raise click.ClickException(f"drill {drill.id} {drill.status}")
