"""Rules of the return routine (seed 004, återgångsrutin) as plain functions over plain values.

No Flask, no store, no clock: the outbox state machine, the send order, the canonical
payload and its hash, backoff with full jitter, the circuit breaker, how a server answer
moves an item, progress and the reconciliation balance. Their tests need neither app nor
database.
"""
from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

# --- Kinds and the send order --------------------------------------------------------------

# Seed 004: "Vid ett driftsstopp prioriteras alltid lagerflytt/lagerpåfyllnad": stock moves go first,
# then orders (with their outbound deliveries), prescriptions, withdrawals and work orders.
PRIORITY = {
    "stock_move": 10,
    "order": 20,
    "outbound_delivery": 20,
    "prescription": 30,
    "prescription_cancel": 30,
    "withdrawal": 40,
    "work_order": 50,
}
KINDS = tuple(PRIORITY)

KIND_LABELS = {
    "stock_move": "Lagerflytt",
    "order": "Beställning",
    "outbound_delivery": "Utleverans",
    "prescription": "Förskrivning",
    "prescription_cancel": "Makulering",
    "withdrawal": "Uttag",
    "work_order": "Arbetsorder",
}

CHANNELS = ("app", "phone", "email", "paper")
CHANNEL_LABELS = {"app": "I systemet", "phone": "Telefon", "email": "E-post", "paper": "Papper"}

MAX_PAYLOAD_BYTES = 64 * 1024


def priority_of(kind: str) -> int:
    """Return the send priority of a kind (lower goes first); unknown kinds are refused."""
    try:
        return PRIORITY[kind]
    except KeyError:
        raise ValueError(f"unknown outbox kind {kind!r}; known: {', '.join(KINDS)}") from None


# --- States --------------------------------------------------------------------------------

REVIEW = "review"  # captured in reserve mode, waiting for approval (the review gate)
PENDING = "pending"  # ready to send at next_attempt_at
IN_FLIGHT = "in_flight"  # claimed by one sender until its lease expires
ACKED = "acked"  # registered: the main server's id is known
CONFLICT = "conflict"  # the main server reported a domain conflict; waits in the resolution queue
DEAD = "dead"  # a permanent error; waits for a person (retry, edit or cancel)
BLOCKED = "blocked"  # its parent is in conflict or dead
RESOLVED = "resolved"  # a conflict resolved by linking to the server's record or by sending anew
CANCELLED = "cancelled"  # withdrawn locally (review, conflict resolution, superseded by an edit)

STATES = (REVIEW, PENDING, IN_FLIGHT, ACKED, CONFLICT, DEAD, BLOCKED, RESOLVED, CANCELLED)
SETTLED = frozenset({ACKED, RESOLVED, CANCELLED})
NEEDS_PERSON = frozenset({REVIEW, CONFLICT, DEAD, BLOCKED})
# An earlier item of the same ordering key in one of these holds back the later ones (FIFO).
HOLDS_QUEUE = (REVIEW, PENDING, IN_FLIGHT)

STATE_LABELS = {
    REVIEW: "Väntar på granskning",
    PENDING: "Väntar på att skickas",
    IN_FLIGHT: "Skickas",
    ACKED: "Registrerad",
    CONFLICT: "Konflikt",
    DEAD: "Fel – kräver åtgärd",
    BLOCKED: "Blockerad",
    RESOLVED: "Löst",
    CANCELLED: "Makulerad",
}

TRANSITIONS: dict[str, frozenset[str]] = {
    REVIEW: frozenset({PENDING, CANCELLED}),
    PENDING: frozenset({IN_FLIGHT, ACKED, BLOCKED, CANCELLED}),
    IN_FLIGHT: frozenset({PENDING, ACKED, CONFLICT, DEAD}),
    ACKED: frozenset({PENDING}),  # the main server lost it (restored from an older backup)
    CONFLICT: frozenset({RESOLVED, CANCELLED}),
    DEAD: frozenset({PENDING, CANCELLED}),
    BLOCKED: frozenset({PENDING, CANCELLED}),
    RESOLVED: frozenset(),
    CANCELLED: frozenset(),
}


def can_move(current: str, target: str) -> bool:
    """Return whether the outbox state machine allows the move."""
    return target in TRANSITIONS.get(current, frozenset())


def editable(state: str, attempts: int, uncertain: bool) -> bool:
    """Return whether an item may be replaced by an edited copy (new key) and cancelled.

    Only while the main server certainly does not have it: never sent, or answered with a
    definite refusal. An item that may have arrived must be settled first, or the edit would
    register the same thing twice.
    """
    if state in (REVIEW, DEAD, CONFLICT, BLOCKED):
        return True
    return state == PENDING and (attempts == 0 or not uncertain)


# --- Keys, canonical payload, hash ----------------------------------------------------------

def new_key() -> str:
    """Return a fresh idempotency key (UUID 4), generated once per item."""
    return str(uuid.uuid4())


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    # Exact types first: decoded JSON is all dicts, lists and scalars, and isinstance against
    # the Mapping ABC is slow (the main server freezes every payload it receives).
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict or isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"payload keys must be strings, not {type(key).__name__}")
            out[key] = _plain(item)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"payload value of type {type(value).__name__} has no canonical form")


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Return the payload frozen as canonical JSON: sorted keys, no spaces, UTF-8 text."""
    if not isinstance(payload, Mapping):
        raise TypeError("payload must be a mapping")
    return json.dumps(_plain(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def payload_hash(canonical: str) -> str:
    """Return the SHA-256 of the canonical payload (hex), the one the main server compares."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def freeze(payload: Mapping[str, Any]) -> tuple[str, str]:
    """Return (canonical JSON, hash); refuse payloads above MAX_PAYLOAD_BYTES."""
    canonical = canonical_json(payload)
    if len(canonical.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
    return canonical, payload_hash(canonical)


# --- Backoff ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 1.0
    cap_seconds: float = 300.0
    in_progress_seconds: float = 2.0  # the server is still working on the key: ask again soon


def backoff_delay(attempts: int, policy: Backoff, rng: random.Random | None = None) -> timedelta:
    """Return the wait before the next attempt: full jitter, uniform in [0, min(cap, base·2^(n-1))]."""
    ceiling = min(policy.cap_seconds, policy.base_seconds * (2 ** max(attempts - 1, 0)))
    return timedelta(seconds=(rng or random).uniform(0, ceiling))


# --- Circuit breaker ----------------------------------------------------------------------

CLOSED, OPEN = "closed", "open"


@dataclass(frozen=True)
class BreakerPolicy:
    failures_to_open: int = 3
    cooldown_seconds: float = 10.0
    cooldown_cap_seconds: float = 300.0
    # Failed trials that keep the first cooldown before it starts doubling: a link that drops for a
    # fraction of a second is retried every cooldown_seconds until it is back, not 0.2, 0.4, 0.8 s later.
    quick_trials: int = 0


@dataclass(frozen=True)
class Breaker:
    """The sender's circuit breaker: closed (send), or open until retry_at, then one trial."""

    state: str = CLOSED
    failures: int = 0
    retry_at: datetime | None = None
    cooldown_seconds: float = 0.0


@dataclass(frozen=True)
class Permit:
    allowed: bool
    trial: bool = False  # half-open: one small batch decides whether to close again


def breaker_permit(breaker: Breaker, now: datetime) -> Permit:
    """Return whether sending may go on now, and whether it is the half-open trial."""
    if breaker.state == CLOSED:
        return Permit(True)
    if breaker.retry_at is None or now >= breaker.retry_at:
        return Permit(True, trial=True)
    return Permit(False)


def breaker_success(_breaker: Breaker) -> Breaker:
    """The main server answered: close the breaker."""
    return Breaker()


def breaker_failure(breaker: Breaker, now: datetime, policy: BreakerPolicy, *, trial: bool) -> Breaker:
    """The main server did not answer: count it, open after enough, lengthen the wait after a failed trial."""
    if trial or breaker.state == OPEN:
        failed_trials = breaker.failures + 1 - policy.failures_to_open
        if failed_trials <= policy.quick_trials:
            cooldown = policy.cooldown_seconds
        else:
            cooldown = min(policy.cooldown_cap_seconds,
                           max(breaker.cooldown_seconds, policy.cooldown_seconds / 2) * 2)
        return Breaker(OPEN, breaker.failures + 1, now + timedelta(seconds=cooldown), cooldown)
    failures = breaker.failures + 1
    if failures >= policy.failures_to_open:
        return Breaker(OPEN, failures, now + timedelta(seconds=policy.cooldown_seconds), policy.cooldown_seconds)
    return replace(breaker, failures=failures)


def breaker_recovered(breaker: Breaker, now: datetime) -> Breaker:
    """The monitor saw the main server come back: let the trial through at once."""
    if breaker.state == OPEN:
        return replace(breaker, retry_at=now)
    return breaker


# --- Server answers -----------------------------------------------------------------------

CREATED, DUPLICATE, KEY_REUSED, IN_PROGRESS, SERVER_CONFLICT, INVALID = (
    "created", "duplicate", "key_reused", "in_progress", "conflict", "invalid")
RESULT_STATUSES = (CREATED, DUPLICATE, KEY_REUSED, IN_PROGRESS, SERVER_CONFLICT, INVALID)


@dataclass(frozen=True)
class Outcome:
    """What one server answer does to one in-flight item."""

    state: str
    server_id: str | None = None
    problem: dict | None = None
    error: str | None = None
    retry_soon: bool = False  # in_progress: not a failure, ask again shortly


class ProtocolError(ValueError):
    """The answer does not follow the contract; the batch may or may not have been applied."""


def outcome_of(result: Mapping[str, Any]) -> Outcome:
    """Return the item's next state for one result of POST /api/v1/batch."""
    status = result.get("status")
    server_id = result.get("id")
    problem = result.get("problem")
    if status in (CREATED, DUPLICATE):
        if not server_id:
            raise ProtocolError(f"{status} without an id")
        return Outcome(ACKED, server_id=str(server_id))
    if status == IN_PROGRESS:
        return Outcome(PENDING, retry_soon=True)
    if status == SERVER_CONFLICT:
        problem = problem if isinstance(problem, dict) else {"type": "unspecified", "detail": problem}
        return Outcome(CONFLICT, server_id=None, problem=problem,
                       error=f"konflikt: {problem.get('type', 'okänd')}")
    if status == KEY_REUSED:
        return Outcome(DEAD, problem=problem if isinstance(problem, dict) else None,
                       error="nyckeln finns redan hos huvudservern med annat innehåll")
    if status == INVALID:
        reason = problem.get("detail") or problem.get("type") if isinstance(problem, dict) else problem
        return Outcome(DEAD, problem=problem if isinstance(problem, dict) else {"detail": problem},
                       error=f"ogiltig: {reason or 'okänt skäl'}"[:300])
    raise ProtocolError(f"unknown result status {status!r}")


def check_results(keys: list[str], body: Any) -> list[Mapping[str, Any]]:
    """Return the results list if it answers exactly these keys in order, else raise ProtocolError."""
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        raise ProtocolError("answer without a results list")
    results = body["results"]
    if len(results) != len(keys):
        raise ProtocolError(f"{len(results)} results for {len(keys)} items")
    for key, result in zip(keys, results):
        if not isinstance(result, Mapping) or result.get("key") != key:
            raise ProtocolError("results out of order or for other keys")
    return results


# --- Conflict resolution ------------------------------------------------------------------------

LINK, CANCEL_LOCAL, SEND_AS_NEW = "link", "cancel_local", "send_as_new"
RESOLUTION_LABELS = {
    LINK: "Koppla till huvudserverns post",
    CANCEL_LOCAL: "Makulera den lokala posten",
    SEND_AS_NEW: "Skicka som ny",
}


def resend_changes(kind: str, problem: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return what to change in the payload to send a conflicting item anew, or None if that cannot help.

    A prescription that met an active row replaces that row; an order or work order whose
    reserved form number was taken is registered without it. Other conflicts would only meet
    the same refusal again.
    """
    problem = problem or {}
    kind_of_conflict = problem.get("type")
    if kind == "prescription" and kind_of_conflict == "active_row_exists":
        rows = [row.get("id") for row in problem.get("rows") or () if isinstance(row, Mapping) and row.get("id")]
        return {"replaces": rows} if rows else None
    if kind_of_conflict == "number_taken" and kind != "withdrawal":
        return {"form_number": None}
    return None


def resolutions_for(kind: str, problem: Mapping[str, Any] | None, server_id: str | None) -> tuple[str, ...]:
    """Return the resolutions that make sense for this conflict (cancelling the local one always does)."""
    options = []
    if server_id:
        options.append(LINK)
    options.append(CANCEL_LOCAL)
    if resend_changes(kind, problem) is not None:
        options.append(SEND_AS_NEW)
    return tuple(options)


def with_changes(payload: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of the payload with top-level fields set (None removes the field)."""
    out = dict(payload)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out
