"""What the mail outbox costs: a small write transaction with and without its mail, and draining a backlog.

    .venv/bin/python bench/mail_outbox_bench.py                     # SQLite, 3 × 500 transactions, 2,000 mails
    .venv/bin/python bench/mail_outbox_bench.py --database-url postgresql://postgres@127.0.0.1:5432/test

The SMTP server is a real aiosmtpd server on loopback (the demo mail catcher's handler, writing .eml
files to a temporary folder). Blocks of transactions alternate between three ways, so a busy machine
affects them alike:

* baseline: the write alone (one UPDATE of a user row, commit), no mail;
* direct:   the write, then the mail sent straight over SMTP after the commit (how mail went before the outbox);
* outbox:   the write with `queue_mail` in its transaction, then the try right after the commit
            (row, claim, SMTP, state): what a password-reset request now waits for.

Then `--backlog` mails queued with at_once=False are drained by `deliver_due` (the monitor's job), next
to the same number sent by `send_mail` in a loop. Prints p50/p95 per transaction, mails per second and
the process's peak RSS.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import update  # noqa: E402

from app.demo import mailcatcher  # noqa: E402
from core.clock import utcnow  # noqa: E402
from core.extensions import db  # noqa: E402
from core.mail import send_mail  # noqa: E402
from core.mail_outbox import deliver_due, queue_mail  # noqa: E402
from core.models import User  # noqa: E402
from core.store import begin_write  # noqa: E402
from sync_support import migrated_app, store_url  # noqa: E402
from tests import factories  # noqa: E402
from tests.smtp_server import free_port  # noqa: E402

SUBJECT = "Återställ ditt lösenord"
BODY = "Välj ett nytt lösenord via länken: https://portal.example/losenord?t=x\n" * 3


def _write(user_id: int) -> None:
    begin_write()
    db.session.execute(update(User).where(User.id == user_id).values(last_login_at=utcnow()))


def baseline(user_id: int) -> None:
    _write(user_id)
    db.session.commit()


def direct(user_id: int) -> None:
    _write(user_id)
    db.session.commit()
    send_mail("anna@region.example", SUBJECT, BODY)


def outbox(user_id: int) -> None:
    _write(user_id)
    queue_mail(db.session, "anna@region.example", SUBJECT, BODY)
    db.session.commit()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=500, help="per way")
    parser.add_argument("--block", type=int, default=25)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="mail-bench-"))
    url, drop = store_url(args.database_url, directory)
    catcher = mailcatcher.start(directory / "mail", free_port())
    try:
        app = migrated_app(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=catcher.port, MAIL_TIMEOUT=5.0)
        with app.app_context():
            factories.bind_app(app)
            user_id = factories.user("anna", email="anna@region.example").id
            db.session.commit()
            ways: dict[str, Callable[[int], None]] = {"baseline": baseline, "direct": direct, "outbox": outbox}
            timings: dict[str, list[float]] = {name: [] for name in ways}
            for name in ways:  # warm-up: statement caches, connections
                for _ in range(10):
                    ways[name](user_id)
            for block in range(len(ways) * args.transactions // args.block):
                name = list(ways)[block % len(ways)]
                for _ in range(args.block):
                    started = time.perf_counter()
                    ways[name](user_id)
                    timings[name].append((time.perf_counter() - started) * 1000)

            for _ in range(args.backlog):
                queue_mail(db.session, "bertil@region.example", SUBJECT, BODY, at_once=False)
            db.session.commit()
            started = time.perf_counter()
            drained = 0
            while True:
                sent = deliver_due(limit=500)
                drained += sent
                if not sent:
                    break
            outbox_rate = drained / (time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(args.backlog):
                send_mail("bertil@region.example", SUBJECT, BODY)
            direct_rate = args.backlog / (time.perf_counter() - started)
            db.engine.dispose()
        load = os.getloadavg()
        print(f"store: {'PostgreSQL' if args.database_url else 'SQLite'}; {args.transactions} transactions each way; "
              f"{os.cpu_count()} CPUs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        for name, label in (("baseline", "write alone, no mail"), ("direct", "write, then SMTP directly"),
                            ("outbox", "write + queue_mail, try after commit")):
            values = timings[name]
            print(f"{label:<38} p50 {statistics.median(values):6.2f} ms   p95 {_p95(values):6.2f} ms")
        added = statistics.median(timings["outbox"]) - statistics.median(timings["direct"])
        print(f"outbox over direct SMTP, median per mail: {added:+.2f} ms")
        print(f"backlog of {args.backlog}: deliver_due {outbox_rate:,.0f} mails/s ({drained} sent); "
              f"send_mail in a loop {direct_rate:,.0f} mails/s")
        print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        catcher.stop()
        drop()


if __name__ == "__main__":
    main()
