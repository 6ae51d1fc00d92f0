"""The pull side: GET /api/v1/changes refreshes articles, patients and withdrawal statuses locally.

Incremental: the cursor moves in the same transaction as the data of its page, and only if
nobody moved it meanwhile (a conditional compare), so a page is applied exactly once. "Data
as of" is the time of the last pull that reached the end of the feed.

Patients are refreshed, not imported: only patients already in the local store are updated.
Withdrawal statuses are kept in sync_withdrawal_statuses; the withdrawals package can apply
them to its own table by connecting to `sync.signals.withdrawal_status_pulled`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.extensions import db
from core.models import Article, Patient, ProductArea
from core.store import begin_write
from sync import signals
from sync.client import HttpMainServer, MainServer, TransportError
from sync.models import PullState, WithdrawalStatus
from sync.settings import SyncSettings, current_settings

log = logging.getLogger("sync.pull")

FEED = "main"
MAX_PAGES_PER_PULL = 50


@dataclass
class PullReport:
    pages: int = 0
    articles: int = 0
    patients: int = 0
    withdrawals: int = 0
    skipped: int = 0
    caught_up: bool = False
    error: str | None = None


def data_as_of() -> datetime | None:
    """Return when the local store last caught up with the main server's changes feed."""
    return db.session.scalar(select(PullState.last_success_at).where(PullState.name == FEED))


def _state(lock: bool = False) -> PullState:
    query = select(PullState).where(PullState.name == FEED).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(PullState(name=FEED, articles=0, patients=0, withdrawals=0))
        except IntegrityError:
            pass  # another puller made the row a moment ago
        row = db.session.scalar(query)
    return row


def pull_if_due(now: datetime) -> PullReport | None:
    """Pull when the feed's next_pull_at has come (the scheduler asks every few seconds)."""
    due = db.session.scalar(select(PullState.next_pull_at).where(PullState.name == FEED))
    db.session.commit()
    if due is not None and due > now:
        return None
    return pull_once()


def pull_once(*, settings: SyncSettings | None = None, client: MainServer | None = None,
              clock: Callable[[], datetime] = utcnow) -> PullReport:
    """Read the changes feed from the cursor to its end (or MAX_PAGES_PER_PULL pages) and apply it."""
    settings = settings or current_settings()
    report = PullReport()
    begin_write()
    state = _state(lock=True)
    cursor = state.cursor
    state.last_attempt_at = clock()
    state.next_pull_at = clock() + timedelta(seconds=settings.pull_seconds)
    db.session.commit()
    own_client = client is None
    client = client or HttpMainServer(settings)
    try:
        for _ in range(MAX_PAGES_PER_PULL):
            page = client.changes(cursor, settings.pull_page_size)
            applied = _apply_page(cursor, page, clock(), report)
            if not applied:
                break  # another puller moved the cursor first
            cursor = str(page["cursor"])
            report.pages += 1
            if not page.get("more"):
                report.caught_up = True
                break
    except TransportError as exc:
        report.error = exc.message
        begin_write()
        _state(lock=True).last_error = exc.message[:300]
        db.session.commit()
    finally:
        if own_client:
            client.close()
    return report


def _apply_page(cursor: str | None, page: Mapping[str, Any], now: datetime, report: PullReport) -> bool:
    begin_write()
    state = _state(lock=True)
    if state.cursor != cursor:
        db.session.rollback()
        return False
    articles, patients, withdrawals = (list(page.get(name) or ()) for name in ("articles", "patients", "withdrawals"))
    applied = (sum(_apply_article(e) for e in articles), sum(_apply_patient(e, now) for e in patients),
               sum(_apply_withdrawal(e, now) for e in withdrawals))
    report.articles += applied[0]
    report.patients += applied[1]
    report.withdrawals += applied[2]
    # Malformed entries, and patients not in the local store, are passed over (counted, never logged).
    report.skipped += len(articles) + len(patients) + len(withdrawals) - sum(applied)
    state.cursor = str(page["cursor"])
    state.articles += applied[0]
    state.patients += applied[1]
    state.withdrawals += applied[2]
    state.last_error = None
    if not page.get("more"):
        state.last_success_at = now
    db.session.commit()
    return True


def _apply_article(entry: Mapping[str, Any]) -> int:
    number = entry.get("number")
    area_code = entry.get("product_area")
    if not isinstance(number, str) or not isinstance(area_code, str):
        return 0
    area = db.session.scalar(select(ProductArea).where(ProductArea.code == area_code))
    if area is None:
        area = ProductArea(code=area_code[:20], name=area_code[:60].capitalize())
        db.session.add(area)
        db.session.flush()
    article = db.session.scalar(select(Article).where(Article.number == number))
    try:
        price = Decimal(str(entry.get("unit_price") if entry.get("unit_price") is not None else "0"))
        size = int(entry.get("package_size") or 1)
    except (InvalidOperation, TypeError, ValueError):
        return 0
    values = {
        "name": str(entry.get("name") or number)[:200], "package_size": max(size, 1), "unit_price": price,
        "supplier": str(entry.get("supplier") or "")[:100],
        "supplier_article_number": str(entry.get("supplier_article_number") or "")[:50],
        "product_group": str(entry.get("product_group") or "")[:100],
        "subgroup": str(entry.get("subgroup") or "")[:100], "product_area_id": area.id,
        "is_active": bool(entry.get("is_active", True)),
    }
    if article is None:
        db.session.add(Article(number=number[:20], **values))
    else:
        for name, value in values.items():
            setattr(article, name, value)
    return 1


def _apply_patient(entry: Mapping[str, Any], now: datetime) -> int:
    number = entry.get("personnummer")
    if not isinstance(number, str):
        return 0
    patient = db.session.scalar(select(Patient).where(Patient.personnummer == number))
    if patient is None:
        return 0  # refreshed, not imported
    for name, length in (("first_name", 100), ("last_name", 100), ("registered_street", 150),
                         ("registered_postal_code", 10), ("registered_city", 100)):
        value = entry.get(name)
        if isinstance(value, str) and value:
            setattr(patient, name, value[:length])
    patient.registered_address_fetched_at = now
    return 1


def _apply_withdrawal(entry: Mapping[str, Any], now: datetime) -> int:
    u_number, status = entry.get("u_number"), entry.get("status")
    if not isinstance(u_number, str) or not isinstance(status, str):
        return 0
    changed_at = _parse_time(entry.get("changed_at"))
    row = db.session.get(WithdrawalStatus, u_number)
    if row is None:
        db.session.add(WithdrawalStatus(u_number=u_number[:10], status=status[:20], changed_at=changed_at,
                                        pulled_at=now))
    else:
        row.status, row.changed_at, row.pulled_at = status[:20], changed_at, now
    signals.withdrawal_status_pulled.send(u_number, status=status, changed_at=changed_at)
    return 1


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        return None
