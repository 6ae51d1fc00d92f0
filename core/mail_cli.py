"""`flask mail send-queued`: drain the mail outbox by hand (the monitor does it on its own)."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from core.extensions import db
from core.mail_outbox import deliver_due
from core.models.outgoing_mail import OutgoingMail

mail_command = AppGroup("mail", help="The mail outbox.")


@mail_command.command("send-queued")
@click.option("--limit", default=1000, show_default=True, help="At most this many mails.")
@click.option("--due-only", is_flag=True, help="Leave the mails still waiting out their backoff.")
def send_queued(limit: int, due_only: bool) -> None:
    """Send the queued mails now (after fixing SMTP, say); print how many were sent and what is left."""
    sent = deliver_due(limit=limit, waiting_too=not due_only)
    counts = dict(db.session.execute(select(OutgoingMail.state, func.count()).group_by(OutgoingMail.state)).all())
    click.echo(f"sent {sent}; queued {counts.get('queued', 0)}, sent in all {counts.get('sent', 0)}, "
               f"failed {counts.get('failed', 0)}")
