"""`flask reserve ...`: check the runbooks, build the kit, run a drill."""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.clock import utcnow

reserve_group = click.Group("reserve", help="The reserve routine: runbooks, kit, drills.")


@reserve_group.command("check-runbooks")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def check_runbooks(directory: Path | None) -> None:
    """Validate the runbooks (default: the app's runbooks/); a broken file is named with its line."""
    from reserve import RUNBOOK_DIR
    from reserve.runbooks import RunbookError, load_runbooks

    try:
        runbooks = load_runbooks(directory or RUNBOOK_DIR)
    except RunbookError as exc:
        raise click.ClickException(str(exc)) from None
    for runbook in runbooks.values():
        click.echo(f"{Path(runbook.path).name}: {runbook.title} – {len(runbook.steps)} steps")


@reserve_group.command("kit")
@with_appcontext
def build_kit() -> None:
    """Build the printable kit now (the monitor does it every hour while the main server is up)."""
    from reserve import kit

    made = kit.generate(utcnow())
    for document in made.documents:
        click.echo(f"{document.filename}: {document.title} ({document.size} bytes)")
    click.echo(f"kit {made.id} generated; {current_app.config['SYSTEM_NAME']}")


@reserve_group.command("drill")
@click.option("--as", "username", default="admin", show_default=True, help="The admin who runs the drill.")
@with_appcontext
def drill_command(username: str) -> None:
    """Run a drill of the whole routine in a sandbox store here and print its report."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User
    from reserve.drill import run_drill

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    _echo_report(run_drill(user))


@reserve_group.command("run-drill")
@click.argument("drill_id", type=int)
@with_appcontext
def run_drill_command(drill_id: int) -> None:
    """Run a drill queued from the drill page (started there in a process of its own)."""
    from app.errors import DomainError
    from reserve.drill import execute

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
