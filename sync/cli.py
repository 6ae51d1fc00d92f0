"""`flask sync …`: drain the outbox by hand with a progress bar, show where it stands, pull, report."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from sync import breaker_state, claims, progress, pull
from sync.models import SyncRun
from sync.balance import Progress
from sync.sender import RunReport, Sender
from sync.settings import current_settings

sync_cli = AppGroup("sync", help="Back-registration (efterregistrering) with the main server.")


class Bar:
    """A one-line progress bar on stderr: registered of total, rate and time left."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total = max(total, 1)
        self.quiet = quiet
        self.started = time.monotonic()
        self.shown = 0.0
        self.tty = sys.stderr.isatty()

    def show(self, done: int, note: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not force and now - self.shown < (0.1 if self.tty else 5.0)):
            return
        self.shown = now
        self.total = max(self.total, done)
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        left = (self.total - done) / rate if rate > 0 else None
        filled = int(30 * done / self.total)
        line = (f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} klara, {rate:.0f}/s"
                + (f", ~{left:.0f} s kvar" if left is not None else "") + (f" ({note})" if note else ""))
        click.echo(("\r" + line.ljust(100)) if self.tty else line, nl=not self.tty, err=True)

    def close(self) -> None:
        if self.tty and not self.quiet:
            click.echo("", err=True)


def _summary(state: Progress) -> str:
    parts = [f"{name}={count}" for name, count in state.counts.items() if count]
    return ", ".join(parts) or "tomt"


@sync_cli.command("run")
@click.option("--timeout", default=600.0, show_default=True, help="Give up after this many seconds.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="First ask /have about recent registrations (finds what a restored server lost).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run_command(timeout: float, verify: bool, quiet: bool) -> None:
    """Drain the outbox now: send everything due, wait out backoff, until nothing can go by itself."""
    settings = current_settings()
    sender = Sender(settings)
    total, _ = claims.can_go_by_itself()
    bar = Bar(total, quiet)
    deadline = time.monotonic() + timeout
    done = 0
    last: RunReport | None = None

    def on_batch(report: RunReport) -> None:
        bar.show(done + report.registered + report.conflicts + report.dead)

    while True:
        last = sender.run(trigger="command", verify=verify, on_batch=on_batch)
        verify = False
        done += last.registered + last.conflicts + last.dead
        remaining, earliest = claims.can_go_by_itself()
        bar.show(done, note=last.stopped, force=True)
        if remaining == 0 or time.monotonic() >= deadline:
            break
        breaker, _, _ = breaker_state.read_breaker()
        wake = [t for t in (earliest, breaker.retry_at if breaker.state == "open" else None) if t is not None]
        wait = max((max(wake) - utcnow()).total_seconds(), 0.05) if wake else 0.2
        time.sleep(min(wait, 1.0, max(deadline - time.monotonic(), 0)))
    bar.close()
    state = progress.snapshot(utcnow(), settings.rate_window_seconds)
    db.session.commit()
    click.echo(f"Klart: {done} besvarade. Läge: {_summary(state)}.")
    remaining, _ = claims.can_go_by_itself()
    if state.waiting_for_people:
        click.echo(f"{state.waiting_for_people} poster väntar på en människa (granskning, konflikt, fel, "
                   f"blockerad): se /efterregistrering.")
    if state.remaining > remaining:
        click.echo(f"{state.remaining - remaining} poster väntar bakom en sådan post (samma patient eller order).")
    if remaining:
        click.echo(f"{remaining} poster kunde inte skickas ännu ({last.stopped if last else ''}"
                   f"{': ' + last.errors[-1] if last and last.errors else ''}).", err=True)
        sys.exit(1)


@sync_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(as_json: bool) -> None:
    """Show counts per state, rate, time left, the circuit breaker and the changes feed."""
    now = utcnow()
    data = progress.public_progress(now)
    last_run = db.session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))
    data["last_run"] = ({"started_at": last_run.started_at, "trigger": last_run.trigger,
                         "registered": last_run.registered, "note": last_run.note} if last_run else None)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(data, default=str, ensure_ascii=False, indent=2))
        return
    for row in data["counts"]:
        click.echo(f"{row['label']:<24} {row['count']:>8}")
    rate = data["rate_per_second"]
    click.echo(f"Takt: {rate if rate is not None else '–'}/s, tid kvar: "
               f"{data['seconds_left'] if data['seconds_left'] is not None else '–'} s"
               + (f", pausad till {data['paused_until']}" if data["paused"] else ""))
    click.echo(f"Data från huvudservern per: {data['data_as_of'] or 'aldrig hämtad'}")


@sync_cli.command("pull")
def pull_command() -> None:
    """Read the main server's changes feed now (articles, patients, withdrawal statuses)."""
    report = pull.pull_once()
    click.echo(f"{report.pages} sidor: {report.articles} artiklar, {report.patients} patienter, "
               f"{report.withdrawals} uttag, {report.skipped} överhoppade"
               + (f"; fel: {report.error}" if report.error else ""))
    if report.error:
        sys.exit(1)


@sync_cli.command("report")
@click.option("--incident", "incident_id", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "pdf"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
def report_command(incident_id: int, fmt: str, output: Path | None) -> None:
    """The reconciliation report of one incident: captured = registered + resolved + cancelled."""
    from sync import reconciliation, reconciliation_export as export

    report = reconciliation.build(incident_id)
    if fmt == "csv":
        data = export.to_csv(report).encode("utf-8")
    elif fmt == "pdf":
        data = export.to_pdf(report)
    else:
        data = export.to_text(report).encode()
    if output:
        output.write_bytes(data)
        click.echo(f"Skrev {output}")
    else:
        sys.stdout.buffer.write(data)
    if not report.balance.balanced:
        sys.exit(2)
