"""`flask seed-demo`: load the demo data set (units, warehouses, articles, one user per role, patients)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.demo.seed import DEFAULT_SEED, StoreNotEmpty, seed_demo
from app.patients.register import write_register_file

PROGRESS_EVERY = 100_000


def _print_progress(done: int, total: int) -> None:
    # Only big runs report progress; `make run` seeds 2,000 and should stay quiet.
    if done % PROGRESS_EVERY == 0 and done < total:
        click.echo(f"  {done:,} of {total:,} patients")


@click.command("seed-demo")
@click.option("--patients", default=1000, show_default=True, type=click.IntRange(min=0),
              help="How many demo patients to create.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds data.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int,
              help="Seed of the random generator; the same seed gives the same data.")
@with_appcontext
def seed_demo_command(patients: int, if_empty: bool, seed: int) -> None:
    """Load demo data into an empty store: units, warehouses, articles, one user per role, and patients.

    Every user's username is its role (prescriber, customer_service, hms_staff, technician, it_staff,
    admin) and the password is "demo". A store that already holds data is refused, or with --if-empty
    left alone.
    """
    try:
        report = seed_demo(patients, seed, if_empty=if_empty, on_progress=_print_progress)
    except StoreNotEmpty as error:
        raise click.ClickException(str(error)) from None
    if report.skipped:
        click.echo("seed-demo: the store already holds data; nothing loaded (--if-empty).")
        return
    register_file = write_register_file(Path(current_app.instance_path) / "population_register.json",
                                        report.register_only)
    click.echo("seed-demo: demo data loaded.")
    for line in report.summary_lines():
        click.echo(f"  {line}")
    example = next(iter(report.register_only), None)
    click.echo(f"  Population register file: {register_file} ({len(report.register_only)} people not yet "
               f"in the store; searching e.g. {example} fetches them on first use)")
