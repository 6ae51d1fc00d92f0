"""The sender's store side: claim a batch under a lease, write back answers, free what a dead sender held.

Each function is one short write transaction (BEGIN IMMEDIATE on SQLite) and holds none
while the network is used. A claim is a conditional UPDATE (state = pending → in_flight with
this worker's lease); answers are written only to items still in flight under this worker's
lease, so a sender that lost its lease to another cannot overwrite what the other learnt.
On PostgreSQL several senders may claim at once: candidates are locked FOR UPDATE SKIP LOCKED.
"""
from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from core.extensions import db
from core.store import begin_write
from sync import faults
from sync.models import OutboxItem, SyncAttempt
from sync.outbox import cascade_to_children
from sync.rules import (
    ACKED, BLOCKED, CANCELLED, CONFLICT, DEAD, HOLDS_QUEUE, IN_FLIGHT, PENDING, RESOLVED, REVIEW, Backoff, Outcome, backoff_delay,
)

SENDER = "sender"
ERROR_LENGTH = 300


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    kind: str
    payload: str
    attempts: int


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _attempts(rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(SyncAttempt.__table__), rows)  # Core executemany: no ORM bulk bookkeeping


def _ahead_in_queue(earlier):  # noqa: ANN001, ANN202
    """`earlier` is an item of the same ordering key captured before this one (FIFO order)."""
    return and_(earlier.ordering_key == OutboxItem.ordering_key,
                or_(earlier.created_at < OutboxItem.created_at,
                    and_(earlier.created_at == OutboxItem.created_at, earlier.id < OutboxItem.id)))


@lru_cache(maxsize=8)
def _claimable(size: int, postgres: bool):  # noqa: ANN202 - built once per size; bound with :now
    earlier = aliased(OutboxItem)
    parent = aliased(OutboxItem)
    # Literal values, not parameters: SQLite uses the partial index ix_sync_outbox_waiting only then.
    waiting = earlier.state.in_(bindparam("waiting", list(HOLDS_QUEUE), expanding=True, literal_execute=True))
    held = exists().where(_ahead_in_queue(earlier), waiting)
    parent_registered = or_(OutboxItem.parent_key.is_(None),
                            exists().where(parent.key == OutboxItem.parent_key, parent.state.in_((ACKED, RESOLVED))))
    query = (select(OutboxItem.id, OutboxItem.send_alone)
             .where(OutboxItem.state == PENDING, OutboxItem.next_attempt_at <= bindparam("now"), ~held,
                    parent_registered)
             .order_by(OutboxItem.priority, OutboxItem.id).limit(size))
    if postgres:
        query = query.with_for_update(skip_locked=True, of=OutboxItem)
    return query


def can_go_by_itself() -> tuple[int, datetime | None]:
    """Return how many items still go out without a person (and the earliest is due), commit.

    Pending or in flight, and not waiting behind an item in review of the same ordering key,
    nor under a parent that waits for a person.
    """
    earlier, parent = aliased(OutboxItem), aliased(OutboxItem)
    behind_review = exists().where(_ahead_in_queue(earlier), earlier.state == REVIEW)
    parent_stuck = exists().where(parent.key == OutboxItem.parent_key,
                                  parent.state.in_((REVIEW, CONFLICT, DEAD, BLOCKED, CANCELLED)))
    count, earliest = db.session.execute(
        select(func.count(), func.min(OutboxItem.next_attempt_at))
        .where(OutboxItem.state.in_((PENDING, IN_FLIGHT)), ~behind_review, ~parent_stuck)).one()
    db.session.commit()
    return count or 0, earliest


# PostgreSQL plans the claim from its statistics. A backlog captured since the last ANALYZE (a
# fresh install, or an outage below autovacuum's 10 % of a large table) makes it believe almost
# nothing is pending: every claim, lease check and acknowledgement then reads the whole backlog
# instead of a few index entries, and a drain of 10,000 items slows to a third.
STALE_BACKLOG = 1000


def refresh_statistics() -> bool:
    """On PostgreSQL, ANALYZE the outbox if the planner misjudges the backlog by half; commit; return whether it did."""
    if not _is_postgres():
        return False
    pending = db.session.scalar(select(func.count()).select_from(
        select(OutboxItem.id).where(OutboxItem.state == PENDING).limit(4 * STALE_BACKLOG).subquery()))
    stale = False
    if pending >= STALE_BACKLOG:
        plan = db.session.execute(text("EXPLAIN (FORMAT JSON) SELECT id FROM sync_outbox WHERE state = 'pending'"))
        stale = plan.scalar()[0]["Plan"]["Plan Rows"] * 2 < pending
    db.session.commit()
    if not stale:
        return False
    try:
        db.session.execute(text("SET LOCAL lock_timeout = '1s'"))  # never wait long behind a VACUUM
        db.session.execute(text("ANALYZE sync_outbox"))
        db.session.commit()
    except DBAPIError:
        db.session.rollback()  # the plans stay slow, the claims stay correct
        return False
    return True


def claim(worker: str, size: int, lease: timedelta, now: datetime, run_id: int | None) -> list[Claimed]:
    """Free expired leases, then lease up to `size` sendable items to this worker; commit; return them.

    Sendable: pending, due, no earlier item of its ordering key still waiting to go (FIFO),
    and its parent (if any) registered. Highest priority first (stock moves), then capture order.
    """
    if not _anything_due(now):
        return []  # an idle tick takes no write lock
    begin_write()
    claimed = _lease(worker, size, lease, now, run_id)
    db.session.commit()
    if claimed:
        faults.checkpoint("after_lease_commit")
    return claimed


def _lease(worker: str, size: int, lease: timedelta, now: datetime, run_id: int | None) -> list[Claimed]:
    """Lease the next sendable items in the open write transaction; return them in sending order."""
    release_expired(now, run_id)
    candidates = db.session.execute(_claimable(size, _is_postgres()), {"now": now}).all()
    if candidates and candidates[0].send_alone:
        ids = [candidates[0].id]  # isolated after a refused batch: goes alone
    else:
        ids = [c.id for c in candidates if not c.send_alone]
    claimed: list[Claimed] = []
    if ids:
        rows = db.session.execute(_LEASE, {"ids": ids, "worker": worker, "until": now + lease, "now": now}).all()
        claimed = [Claimed(*row[:5]) for row in sorted(rows, key=lambda row: (row.priority, row.id))]
    return claimed


def _anything_due(now: datetime) -> bool:
    """Return (in a read that ends at once) whether an item is due or a lease has run out."""
    due = db.session.scalar(_DUE, {"now": now})
    db.session.commit()
    return due is not None


def free_expired(now: datetime, run_id: int | None) -> int:
    """Free expired leases in a transaction of their own; commit; return how many."""
    expired = db.session.scalar(select(OutboxItem.id).where(OutboxItem.state == IN_FLIGHT,
                                                            OutboxItem.lease_expires_at <= now).limit(1))
    db.session.commit()
    if expired is None:
        return 0
    begin_write()
    freed = release_expired(now, run_id)
    db.session.commit()
    return freed


def release_expired(now: datetime, run_id: int | None) -> int:
    """Put items whose lease ran out back to pending, marked uncertain (they may have arrived)."""
    ids = list(db.session.scalars(_EXPIRED_LOCKED if _is_postgres() else _EXPIRED, {"now": now}))
    if not ids:
        return 0
    db.session.execute(
        update(OutboxItem).where(OutboxItem.id.in_(ids), OutboxItem.state == IN_FLIGHT,
                                 OutboxItem.lease_expires_at <= now)
        .values(state=PENDING, uncertain=True, lease_owner=None, lease_expires_at=None, next_attempt_at=now,
                state_changed_at=now, last_error="lease expired: the sender stopped before it heard back")
        .execution_options(synchronize_session=False))
    _attempts([{"item_id": i, "run_id": run_id, "at": now, "outcome": "lease_expired", "server_id": None,
                "error": None} for i in ids])
    return len(ids)


def _owned(ids: Sequence[int], worker: str) -> set[int]:
    query = select(OutboxItem.id).where(OutboxItem.id.in_(ids), OutboxItem.state == IN_FLIGHT,
                                        OutboxItem.lease_owner == worker)
    if _is_postgres():
        query = query.with_for_update()
    return set(db.session.scalars(query))


# Core statements (not ORM), built once. Each write is conditional on the item still being in
# flight under this worker's lease; RETURNING says which were, in the same round trip.
T = OutboxItem.__table__
_DUE = select(T.c.id).where(or_(and_(T.c.state == PENDING, T.c.next_attempt_at <= bindparam("now")),
                                and_(T.c.state == IN_FLIGHT, T.c.lease_expires_at <= bindparam("now")))).limit(1)
_EXPIRED = select(T.c.id).where(T.c.state == IN_FLIGHT, T.c.lease_expires_at <= bindparam("now"))
_EXPIRED_LOCKED = _EXPIRED.with_for_update(skip_locked=True)
_LEASE = (update(T).where(T.c.id.in_(bindparam("ids", expanding=True)), T.c.state == PENDING)
          .values(state=IN_FLIGHT, lease_owner=bindparam("worker"), lease_expires_at=bindparam("until"),
                  attempts=T.c.attempts + 1, last_attempt_at=bindparam("now"), state_changed_at=bindparam("now"))
          .returning(T.c.id, T.c.key, T.c.kind, T.c.payload, T.c.attempts, T.c.priority))
_HELD = and_(T.c.state == IN_FLIGHT, T.c.lease_owner == bindparam("b_worker"))
_APPLY = (update(T)
          .where(T.c.id == bindparam("b_id"), _HELD)
          .values(state=bindparam("b_state"), server_id=bindparam("b_server_id"),
                  registered_at=bindparam("b_registered_at"), problem=bindparam("b_problem"),
                  conflict_server_id=bindparam("b_conflict_server_id"), last_error=bindparam("b_error"),
                  next_attempt_at=bindparam("b_next"), uncertain=bindparam("b_uncertain"),
                  send_alone=False, lease_owner=None, lease_expires_at=None, state_changed_at=bindparam("b_now")))


def _per_item(size: int, column):  # noqa: ANN001, ANN202
    """Return the ids i0..i{size-1} and a CASE giving item n the value bound as v{n}: one UPDATE, a value per row."""
    ids = [bindparam(f"i{n}", type_=T.c.id.type) for n in range(size)]
    return ids, case(*[(ids[n], bindparam(f"v{n}", type_=column.type)) for n in range(size)], value=T.c.id)


def _per_item_params(pairs: Sequence[tuple[int, Any]], **params: Any) -> dict[str, Any]:
    for n, (item_id, value) in enumerate(pairs):
        params[f"i{n}"], params[f"v{n}"] = item_id, value
    return params


@lru_cache(maxsize=64)
def _ack_statement(size: int):  # noqa: ANN202 - built once per size, like the claim query
    ids, server_id = _per_item(size, T.c.server_id)
    now = bindparam("b_now", type_=T.c.state_changed_at.type)
    return (update(T).where(T.c.id.in_(ids), _HELD)
            .values(state=ACKED, server_id=server_id, registered_at=now, problem=None, conflict_server_id=None,
                    last_error=None, next_attempt_at=now, uncertain=False, send_alone=False, lease_owner=None,
                    lease_expires_at=None, state_changed_at=now)
            .returning(T.c.id))


def _ack_all(acked: Sequence[tuple[Claimed, Outcome]], worker: str, now: datetime) -> set[int]:
    """Mark registered items acked in one UPDATE (each its own server id); return the ids this worker still held."""
    params = _per_item_params([(item.id, outcome.server_id) for item, outcome in acked], b_worker=worker, b_now=now)
    return set(db.session.execute(_ack_statement(len(acked)), params).scalars())


def _write_answers(part: Sequence[tuple[Claimed, Outcome]], worker: str, now: datetime, backoff: Backoff,
                   rng: random.Random | None) -> set[int]:
    """Write one part of the batch's answers; return the ids this worker still held (and so were written)."""
    acked = [(item, outcome) for item, outcome in part if outcome.state == ACKED]
    owned = _ack_all(acked, worker, now) if acked else set()
    for item, outcome in part:  # conflicts, refusals, in progress: rare, one UPDATE each
        if outcome.state == ACKED:
            continue
        retry = backoff.in_progress_seconds if outcome.retry_soon else 0.0
        result = db.session.execute(_APPLY, {
            "b_id": item.id, "b_worker": worker, "b_state": outcome.state, "b_now": now,
            "b_server_id": None, "b_registered_at": None,
            "b_problem": json.dumps(outcome.problem, ensure_ascii=False) if outcome.problem else None,
            "b_conflict_server_id": _existing_id(outcome.problem) if outcome.state == CONFLICT else None,
            "b_error": outcome.error[:ERROR_LENGTH] if outcome.error else None,
            "b_next": now + timedelta(seconds=retry * (0.5 + (rng or random).random())),
            "b_uncertain": outcome.retry_soon,  # in progress at the server: it may well arrive
        })
        if result.rowcount == 1:
            owned.add(item.id)
    return owned


def apply_outcomes(batch: Sequence[Claimed], outcomes: Sequence[Outcome], statuses: Sequence[str], worker: str,
                   now: datetime, backoff: Backoff, run_id: int | None, rng: random.Random | None = None, *,
                   next_size: int = 0, lease: timedelta = timedelta(0)) -> tuple[dict[str, int], list[Claimed]]:
    """Write the server's answers to the items this worker still holds, lease up to `next_size` more; commit.

    Return counts per new state, and the next batch. One commit for both saves a durable commit
    (an fsync on PostgreSQL) per batch; a kill before it loses both, which a lease expiry settles.
    """
    faults.checkpoint("after_reply_before_commit")
    begin_write()
    answers = list(zip(batch, outcomes))
    halfway = len(answers) // 2
    owned = _write_answers(answers[:halfway], worker, now, backoff, rng) if halfway else set()
    if halfway:
        faults.checkpoint("mid_batch")
    owned |= _write_answers(answers[halfway:], worker, now, backoff, rng)
    attempts, tally = [], {}
    for item, outcome, status in zip(batch, outcomes, statuses):
        if item.id not in owned:
            attempts.append(_attempt(item.id, run_id, now, "late", None, "answer came after the lease was lost"))
            continue
        attempts.append(_attempt(item.id, run_id, now, status, outcome.server_id, outcome.error))
        tally[outcome.state] = tally.get(outcome.state, 0) + 1
    _attempts(attempts)
    _cascade([c for c, o in answers if c.id in owned and o.state in (CONFLICT, DEAD)], now)
    leased = _lease(worker, next_size, lease, now, run_id) if next_size else []
    db.session.commit()
    if leased:
        faults.checkpoint("after_lease_commit")
    return tally, leased


def _existing_id(problem: Mapping[str, Any] | None) -> str | None:
    value = (problem or {}).get("existing_id")
    return str(value)[:80] if value else None


def _attempt(item_id: int, run_id: int | None, now: datetime, outcome: str, server_id: str | None,
             error: str | None) -> dict:
    return {"item_id": item_id, "run_id": run_id, "at": now, "outcome": outcome[:20], "server_id": server_id,
            "error": error[:ERROR_LENGTH] if error else None}


def _cascade(items: Sequence[Claimed], now: datetime) -> None:
    for claimed in items:
        item = db.session.get(OutboxItem, claimed.id, populate_existing=True)
        if item is not None:
            cascade_to_children(item, now)


@lru_cache(maxsize=64)
def _release_statement(size: int, uncertain: bool):  # noqa: ANN202 - built once per size, like the ack
    ids, next_attempt_at = _per_item(size, T.c.next_attempt_at)
    values: dict[str, Any] = {"state": PENDING, "next_attempt_at": next_attempt_at, "lease_owner": None,
                              "lease_expires_at": None, "state_changed_at": bindparam("b_now"),
                              "last_error": bindparam("b_error"), "send_alone": bindparam("b_send_alone")}
    if uncertain:  # once uncertain, an item stays so until a definite answer comes
        values["uncertain"] = True
    return update(T).where(T.c.id.in_(ids), _HELD).values(**values).returning(T.c.id)


def release(batch: Sequence[Claimed], worker: str, now: datetime, *, error: str, outcome: str, uncertain: bool,
            backoff: Backoff | None, run_id: int | None, send_alone: bool = False,
            rng: random.Random | None = None) -> None:
    """Give the batch back after a failed call: pending again, with backoff on the row, in one UPDATE; commit."""
    begin_write()
    due = [(item.id, now + (backoff_delay(item.attempts, backoff, rng) if backoff else timedelta(0))) for item in batch]
    params = _per_item_params(due, b_worker=worker, b_now=now, b_error=error[:ERROR_LENGTH], b_send_alone=send_alone)
    owned = set(db.session.execute(_release_statement(len(due), uncertain), params).scalars())
    _attempts([_attempt(item.id, run_id, now, outcome, None, error) for item in batch if item.id in owned])
    db.session.commit()


def kill_batch(batch: Sequence[Claimed], worker: str, now: datetime, *, error: str, run_id: int | None) -> None:
    """The server refused this one item for good: dead, with the reason; commit."""
    begin_write()
    owned = _owned([c.id for c in batch], worker)
    if owned:
        db.session.execute(
            update(OutboxItem).where(OutboxItem.id.in_(owned), OutboxItem.state == IN_FLIGHT,
                                     OutboxItem.lease_owner == worker)
            .values(state=DEAD, lease_owner=None, lease_expires_at=None, state_changed_at=now,
                    last_error=error[:ERROR_LENGTH], send_alone=False)
            .execution_options(synchronize_session=False))
        _attempts([_attempt(i, run_id, now, "refused", None, error) for i in owned])
        _cascade([c for c in batch if c.id in owned], now)
    db.session.commit()


# --- /have -----------------------------------------------------------------------------------

def uncertain_keys(limit: int = 5000) -> list[str]:
    """Return keys of waiting items that may already be at the server."""
    keys = list(db.session.scalars(select(OutboxItem.key).where(OutboxItem.state == PENDING,
                                                                OutboxItem.uncertain.is_(True))
                                   .order_by(OutboxItem.id).limit(limit)))
    db.session.commit()
    return keys


def mark_known(known: Mapping[str, str], now: datetime, run_id: int | None, *, due_now: Sequence[int] = ()) -> int:
    """Mark waiting items the server says it has as registered, with its id; commit; return how many.

    `due_now`: ids of items to send again at once if still waiting (their backoff dropped), in the same commit.
    """
    if not known and not due_now:
        return 0
    begin_write()
    rows = db.session.execute(select(OutboxItem.id, OutboxItem.key).where(
        OutboxItem.key.in_(list(known)), OutboxItem.state == PENDING)).all() if known else []
    if rows:
        db.session.execute(
            update(T).where(T.c.id == bindparam("b_id"), T.c.state == PENDING)
            .values(state=ACKED, server_id=bindparam("b_server_id"), registered_at=now, uncertain=False,
                    send_alone=False, state_changed_at=now, last_error=None),
            [{"b_id": r.id, "b_server_id": known[r.key]} for r in rows])
        _attempts([_attempt(r.id, run_id, now, "known", known[r.key], None) for r in rows])
    if due_now:
        db.session.execute(update(T).where(T.c.id.in_(list(due_now)), T.c.state == PENDING, T.c.next_attempt_at > now)
                           .values(next_attempt_at=now))
    db.session.commit()
    return len(rows)


def registered_since(since: datetime, after_id: int, limit: int) -> list[tuple[int, str, str]]:
    """Return (id, key, server id) of registered items after `after_id`, registered since `since`."""
    rows = db.session.execute(select(OutboxItem.id, OutboxItem.key, OutboxItem.server_id).where(
        OutboxItem.state == ACKED, OutboxItem.registered_at >= since, OutboxItem.id > after_id)
        .order_by(OutboxItem.id).limit(limit)).all()
    db.session.commit()
    return [tuple(r) for r in rows]


def reconcile_registered(checked: Sequence[tuple[int, str, str]], known: Mapping[str, str], now: datetime,
                         run_id: int | None) -> tuple[int, int]:
    """After /have on registered items: the server lost some (resend) or knows them by another id (correct).

    Returns (lost, corrected); commits.
    """
    begin_write()
    lost = corrected = 0
    for item_id, key, server_id in checked:
        if key not in known:
            result = db.session.execute(
                update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.state == ACKED)
                .values(state=PENDING, server_id=None, registered_at=None, uncertain=False, next_attempt_at=now,
                        state_changed_at=now, last_error="huvudservern saknar posten (återställd från äldre säkerhetskopia?)")
                .execution_options(synchronize_session=False))
            if result.rowcount:
                lost += 1
                _attempts([_attempt(item_id, run_id, now, "lost", server_id, "not known by the main server")])
        elif known[key] != server_id:
            result = db.session.execute(
                update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.state == ACKED)
                .values(server_id=known[key]).execution_options(synchronize_session=False))
            if result.rowcount:
                corrected += 1
                _attempts([_attempt(item_id, run_id, now, "corrected", known[key], f"was {server_id}")])
    db.session.commit()
    return lost, corrected
