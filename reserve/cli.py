"""`flask reserve ...`: check the runbooks, build the kit (drills join the group from app.drills)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from core.clock import utcnow

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
