"""The sender: back-register the outbox with the main server, exactly once, in priority order.

One run: ask the circuit breaker; ask /have about items that may already be there (and, after
a recovery, about recent registrations the server may have lost); then claim a batch, send it,
write the answers (leasing the next batch in the same commit while the queue flows), and again,
until nothing is due, the time budget is spent, or the server falls again. No transaction is
open while the network is used. Exactly once rests on three
things: the key is generated once and the main server deduplicates on it forever; an item is
only ever sent under a lease one sender holds; and an answer that did not arrive leaves the
item pending and "uncertain", to be settled by /have or by the server's `duplicate`.
"""
from __future__ import annotations

import json
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import has_app_context

from core.clock import utcnow
from core.extensions import db
from core.signals import send_isolated
from core.store import begin_write
from sync import breaker_state, claims, faults, signals
from sync.client import BatchItem, HttpMainServer, MainServer, TransportError
from sync.models import SyncRun
from sync.rules import (
    OPEN, Breaker, ProtocolError, breaker_failure, breaker_permit, breaker_success, check_results, outcome_of,
)
from sync.settings import SyncSettings

log = logging.getLogger("sync.sender")

Clock = Callable[[], datetime]


def _notify_acked(now: datetime) -> None:
    """Tell the owners of the records (reserve: the captured items' "registered") at once."""
    if has_app_context():
        # A failing receiver's half-done work is rolled back; the registrations are safe and it catches up later.
        send_isolated(signals.items_acknowledged, now, on_failure=db.session.rollback)


def new_worker_id() -> str:
    """Return this sender's name in leases: host, pid and a random tag (several senders per process in tests)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:80]


@dataclass
class RunReport:
    run_id: int | None = None
    trigger: str = "schedule"
    recovery_event_id: int | None = None
    batches: int = 0
    sent: int = 0
    registered: int = 0
    conflicts: int = 0
    dead: int = 0
    retried: int = 0
    known_by_have: int = 0
    lost_by_server: int = 0
    stopped: str = ""  # empty, budget, breaker_open, server_down, limit
    errors: list[str] = field(default_factory=list)
    lost_once: set[int] = field(default_factory=set, repr=False)  # items sent again at once after a lost call


class Sender:
    """Sends the outbox for one worker; create one per process (or per thread in tests)."""

    def __init__(self, settings: SyncSettings, worker: str | None = None, *, clock: Clock = utcnow,
                 rng: random.Random | None = None,
                 client_factory: Callable[[SyncSettings], MainServer] = HttpMainServer) -> None:
        self.settings = settings
        self.worker = worker or new_worker_id()
        self.clock = clock
        self.rng = rng or random.Random()
        self.client_factory = client_factory
        self.lease = timedelta(seconds=settings.lease_seconds)

    # --- one run ------------------------------------------------------------------------------------

    def run(self, *, trigger: str = "schedule", budget_seconds: float | None = None, verify: bool = False,
            max_batches: int | None = None, on_batch: Callable[[RunReport], None] | None = None,
            recovery_event_id: int | None = None) -> RunReport:
        """Send what is due until done, out of budget, or the main server stops answering; return the report."""
        report = RunReport(trigger=trigger, recovery_event_id=recovery_event_id)
        deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
        breaker, verify_requested, last_verified = breaker_state.read_breaker()
        now = self.clock()
        permit = breaker_permit(breaker, now)
        if not permit.allowed:
            report.stopped = "breaker_open"
            return report
        verify = verify or verify_requested or (
            last_verified is not None and (now - last_verified).total_seconds() >= self.settings.verify_interval_seconds)
        claims.free_expired(now, None)  # what a dead sender held is asked about (/have) before anything is sent
        client = self.client_factory(self.settings)
        try:
            if permit.trial and not self._answers(client):
                self._breaker_failed(breaker, permit.trial)
                report.stopped = "server_down"
                return report
            try:
                asked = self._ask_have(client, report, again=permit.trial)
                if verify:
                    self._verify(client, report)
                    asked = True
            except TransportError as exc:
                self._note(report, f"/have: {exc.message}")
                self._breaker_failed(breaker, permit.trial)
                report.stopped = "server_down"
                return self._finish(report)
            trial = permit.trial
            if asked and (trial or breaker.failures):
                breaker, trial = self._breaker_ok(), False
            self._drain(client, report, breaker, trial, deadline, max_batches, on_batch)
        finally:
            client.close()
        return self._finish(report)

    def _drain(self, client: MainServer, report: RunReport, breaker: Breaker, trial: bool, deadline: float | None,
               max_batches: int | None, on_batch: Callable[[RunReport], None] | None) -> None:
        """Claim and send batches until none is due, the budget is spent, or the breaker opens."""
        claims.refresh_statistics()
        batch: list[claims.Claimed] = []  # leased in the same commit as the last batch's answers
        while True:
            if not batch:
                if deadline is not None and time.monotonic() >= deadline:
                    report.stopped = "budget"
                    return
                if max_batches is not None and report.batches >= max_batches:
                    report.stopped = "limit"
                    return
                size = 1 if trial else self.settings.batch_size  # half-open: one item decides
                batch = claims.claim(self.worker, size, self.lease, self.clock(), report.run_id)
                if not batch:
                    report.stopped = "empty"
                    return
            self._ensure_run(report)
            answered, batch = self._send(client, batch, report, self._next_size(batch, trial or bool(breaker.failures),
                                                                                 deadline, max_batches, report))
            if on_batch:
                on_batch(report)
            if answered:
                if trial or breaker.failures:
                    breaker, trial = self._breaker_ok(), False
                continue
            breaker, trial = self._breaker_failed(breaker, trial), False
            if breaker.state == OPEN:
                report.stopped = "server_down"
                return

    # --- steps --------------------------------------------------------------------------------------

    def _ask_have(self, client: MainServer, report: RunReport, *, again: bool = False) -> bool:
        keys = claims.uncertain_keys()
        if not keys:
            return False
        self._ensure_run(report)
        try:
            known = client.have(keys)
        except TransportError:
            if not again:
                raise
            # The trial's health page has just answered: one lost call is the link, not the server. Failing
            # the trial for it doubled the breaker's wait on a flapping link, 0.4 s up to 2 s at a time.
            known = client.have(keys)
        report.known_by_have += claims.mark_known(known, self.clock(), report.run_id)
        return True

    def _verify(self, client: MainServer, report: RunReport) -> None:
        """Ask /have about recent registrations; the server restored from a backup may have lost some."""
        self._ensure_run(report)
        since = self.clock() - timedelta(days=self.settings.verify_acked_days)
        after = 0
        while True:
            chunk = claims.registered_since(since, after, 1000)
            if not chunk:
                break
            known = client.have([key for _, key, _ in chunk])
            lost, corrected = claims.reconcile_registered(chunk, known, self.clock(), report.run_id)
            report.lost_by_server += lost
            if lost or corrected:
                log.warning("sync: the main server had lost %d registrations and knew %d by another id; "
                            "they are sent again / corrected", lost, corrected)
            after = chunk[-1][0]
        breaker_state.verification_done(self.clock())

    def _next_size(self, batch: list[claims.Claimed], breaker_busy: bool, deadline: float | None,
                   max_batches: int | None, report: RunReport) -> int:
        """Return how many items to lease with this batch's answers (one commit for both), 0 for none.

        Only while a full queue flows: the batch was full, the breaker has nothing to write, and the
        run will go on (budget, limit), so a leased batch is always sent next.
        """
        size = self.settings.batch_size
        if len(batch) < size or breaker_busy or (deadline is not None and time.monotonic() >= deadline):
            return 0
        return 0 if max_batches is not None and report.batches + 1 >= max_batches else size

    def _send(self, client: MainServer, batch: list[claims.Claimed], report: RunReport,
              next_size: int = 0) -> tuple[bool, list[claims.Claimed]]:
        """Send one claimed batch and write what came of it (leasing up to `next_size` more in the same commit).

        Return whether the server answered, and the next batch if one was leased.
        """
        report.batches += 1
        report.sent += len(batch)
        items = [BatchItem(c.key, c.kind, json.loads(c.payload)) for c in batch]
        faults.checkpoint("after_send_before_reply")
        try:
            body = client.batch(items)
        except TransportError as exc:
            return self._call_failed(client, batch, exc, report), []
        try:
            results = check_results([c.key for c in batch], body)
            outcomes = [outcome_of(result) for result in results]
        except ProtocolError as exc:
            self._note(report, f"protocol: {exc}")
            claims.release(batch, self.worker, self.clock(), error=f"svaret följer inte kontraktet: {exc}",
                           outcome="ambiguous", uncertain=True, backoff=self.settings.backoff, run_id=report.run_id,
                           rng=self.rng)
            return False, []
        tally, leased = claims.apply_outcomes(batch, outcomes, [str(r.get("status")) for r in results], self.worker,
                                              self.clock(), self.settings.backoff, report.run_id, self.rng,
                                              next_size=next_size, lease=self.lease)
        report.registered += tally.get("acked", 0)
        if tally.get("acked"):
            _notify_acked(self.clock())
        report.conflicts += tally.get("conflict", 0)
        report.dead += tally.get("dead", 0)
        report.retried += tally.get("pending", 0)
        return True, leased

    def _call_failed(self, client: MainServer, batch: list[claims.Claimed], exc: TransportError,
                     report: RunReport) -> bool:
        self._note(report, exc.message)
        now = self.clock()
        status = exc.status
        if exc.permanent and status is not None and 400 <= status < 500 and status not in (401, 403):
            # Refused as a whole, nothing applied: isolate the items, or give up on a lone one.
            if len(batch) > 1:
                claims.release(batch, self.worker, now, error=exc.message, outcome="refused", uncertain=False,
                               backoff=None, run_id=report.run_id, send_alone=True)
            else:
                claims.kill_batch(batch, self.worker, now, error=f"avvisad av huvudservern: {exc.message}",
                                  run_id=report.run_id)
                report.dead += 1
            return True
        if exc.permanent and status in (401, 403):
            claims.release(batch, self.worker, now, error=exc.message, outcome="refused", uncertain=False,
                           backoff=self.settings.backoff, run_id=report.run_id, rng=self.rng)
            log.error("sync: the main server refuses our credentials (%s); check SYNC_MAIN_SERVER_TOKEN", status)
            return False
        # Reset, timeout, 5xx, a garbled answer: the server may have registered the batch. The backoff is on
        # the rows before /have is asked, so a sender killed meanwhile leaves them waiting, not in flight.
        claims.release(batch, self.worker, now, error=exc.message, outcome="ambiguous", uncertain=True,
                       backoff=self.settings.backoff, run_id=report.run_id, rng=self.rng)
        try:
            known = client.have([c.key for c in batch])
        except TransportError:
            return False  # not answering: the breaker decides when to try again
        # It answered /have: it is up, the call was lost on the way. What it does not have goes again at
        # once, still uncertain; an item lost a second time in this run waits out its backoff, so a batch
        # that always breaks the connection is not sent again and again.
        again = [c.id for c in batch if c.key not in known and c.id not in report.lost_once]
        report.lost_once.update(again)
        report.known_by_have += claims.mark_known(known, self.clock(), report.run_id, due_now=again)
        return True

    # --- breaker and bookkeeping ---------------------------------------------------------------------

    def _breaker_ok(self) -> Breaker:
        breaker = breaker_success(Breaker())
        breaker_state.write_breaker(breaker, self.clock())
        return breaker

    def _breaker_failed(self, breaker: Breaker, trial: bool) -> Breaker:
        breaker = breaker_failure(breaker, self.clock(), self.settings.breaker, trial=trial)
        breaker_state.write_breaker(breaker, self.clock())
        failed_trials = breaker.failures - self.settings.breaker.failures_to_open + 1  # 1: it has just opened
        if breaker.state == OPEN and _worth_a_log_line(failed_trials):
            log.warning("sync: main server not answering (%d failed attempts); sending paused, next trial in %.1f s",
                        breaker.failures, breaker.cooldown_seconds)
        return breaker

    def _answers(self, client: MainServer) -> bool:
        """The half-open trial starts with the health page: while the server is down, a trial every few
        seconds costs one GET, not an item's attempt and a run row."""
        try:
            client.health()
        except TransportError:
            return False
        return True

    def _note(self, report: RunReport, message: str) -> None:
        if len(report.errors) < 20:
            report.errors.append(message)

    def _ensure_run(self, report: RunReport) -> None:
        """Record the run once it does something (an idle tick every few seconds leaves no row)."""
        if report.run_id is not None:
            return
        begin_write()
        run = SyncRun(worker=self.worker, trigger=report.trigger, recovery_event_id=report.recovery_event_id,
                      started_at=self.clock())
        db.session.add(run)
        db.session.commit()
        report.run_id = run.id

    def _finish(self, report: RunReport) -> RunReport:
        if report.run_id is None:
            return report
        begin_write()
        run = db.session.get(SyncRun, report.run_id, populate_existing=True)
        if run is not None:
            run.ended_at = self.clock()
            run.batches, run.sent, run.registered = report.batches, report.sent, report.registered
            run.conflicts, run.failed = report.conflicts, report.dead
            run.note = f"{report.stopped}" + (f": {report.errors[-1]}" if report.errors else "")
            run.note = run.note[:300]
        db.session.commit()
        return report


def _worth_a_log_line(failed_trials: int) -> bool:
    """Log the 1st, 2nd, 4th, 8th … failed trial: a long outage tries every few seconds, the log says so a few times."""
    return failed_trials >= 1 and failed_trials & (failed_trials - 1) == 0
