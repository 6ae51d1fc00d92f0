"""Throttling of the public forms that send e-mail, per client address and per target address.

The limits hold across every worker and web node because the attempts are rows in the store.
Flask-Limiter was considered: its storages (memory, Redis, Memcached, MongoDB, etcd) are none
we run, and a per-process memory store would multiply the limit by the number of workers.

The rows go to the login limiter's table (`login_failures`: a subject, an address, a moment),
with the subject "<form>:<SHA-256 of the target>", so no e-mail address is stored in the clear
and no real username (which never holds a colon) can collide with one.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app, render_template, request
from sqlalchemy import func, select

from core.clock import utcnow
from core.extensions import db
from core.models import LoginFailure
from core.store import begin_write

REFUSED_MESSAGE = ("För många förfrågningar från din adress eller till den här e-postadressen. "
                   "Inget har skickats. Vänta en stund och försök igen.")


def subject(form: str, target: str) -> str:
    """Return the stored subject of an attempt at `form` for a target e-mail address or username."""
    digest = hashlib.sha256(target.strip().lower().encode()).hexdigest()[:40]
    return f"{form}:{digest}"


def over_limit(address_attempts: int, target_attempts: Iterable[int], per_address: int, per_target: int) -> bool:
    """Return whether one more attempt would pass the per-address or a per-target limit."""
    return address_attempts >= per_address or any(count >= per_target for count in target_attempts)


def _count(since: datetime, *conditions) -> int:  # noqa: ANN002
    return db.session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.at >= since, *conditions)) or 0


def allow(form: str, targets: Iterable[str], address: str | None = None) -> bool:
    """Record an attempt at a public form that sends e-mail; return False, recording nothing, over a limit."""
    config = current_app.config
    address = address or request.remote_addr or "-"
    subjects = sorted({subject(form, t) for t in targets if t and t.strip()})
    begin_write()
    now = utcnow()
    since = now - timedelta(seconds=float(config["PUBLIC_FORM_WINDOW_SECONDS"]))
    from_address = _count(since, LoginFailure.ip == address, LoginFailure.username.like(f"{form}:%"))
    to_targets = [_count(since, LoginFailure.username == s) for s in subjects]
    if over_limit(from_address, to_targets, int(config["PUBLIC_FORM_MAX_PER_ADDRESS"]),
                  int(config["PUBLIC_FORM_MAX_PER_TARGET"])):
        db.session.rollback()
        current_app.logger.info("public form %s throttled", form)  # no address, no e-mail in the log
        return False
    # One row per attempt; an attempt without a target still counts for the address.
    for stored in subjects or [f"{form}:"]:
        db.session.add(LoginFailure(username=stored, ip=address[:45], at=now))
    db.session.commit()
    return True


def refusal():
    """Return the Swedish 429 page shown instead of sending."""
    return render_template("error.html", status=429, message=REFUSED_MESSAGE), 429
