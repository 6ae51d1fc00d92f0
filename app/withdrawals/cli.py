"""`flask seed-demo-stock`: demo stock levels, and demo prescriptions with a withdrawal history."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.demo.seed import DEFAULT_SEED


@click.command("seed-demo-stock")
@click.option("--withdrawal-patients", default=300, show_default=True, type=click.IntRange(min=0),
              help="How many demo patients get prescriptions with a withdrawal history.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)
@with_appcontext
def seed_demo_stock_command(withdrawal_patients: int, seed: int) -> None:
    """Add stock levels and a withdrawal history to a store loaded with `flask seed-demo`; safe to repeat."""
    from app.demo.stock import seed_stock
    from app.demo.withdrawals import seed_demo_withdrawals

    levels = seed_stock(seed)
    rows, withdrawals = seed_demo_withdrawals(withdrawal_patients, seed)
    click.echo(f"seed-demo-stock: {levels} stock levels, {rows} prescription rows with {withdrawals} withdrawals "
               "(parts already present were left alone).")
