"""`flask seed-demo`: load demo data (placeholder until the generator lands)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("seed-demo")
@click.option("--patients", default=1000, show_default=True, type=click.IntRange(min=0))
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds demo data.")
@with_appcontext
def seed_demo_command(patients: int, if_empty: bool) -> None:
    """Load demo data: units, warehouses, articles, one user per role, and patients."""
    raise click.ClickException("not yet")
