"""A hypothesis state machine: capture, edit, server up/down, drop replies, kill and restart, sync, resolve.

After every step: an acked item carries the server's id for its key; the server holds nothing we
did not capture; nothing withdrawn here is registered there; of an edit chain at most one link
is registered. At the end, with the server up and time moved on, everything that can go has
gone, exactly once. Real reference server process; each example is its own site at the server.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import requests
from hypothesis import HealthCheck, settings, strategies as st  # a test dependency (pyproject [test]); never skipped
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import delete, select

from core.clock import utcnow
from core.extensions import db
from core.store import begin_write
from sync import claims, conflicts, outbox, review
from sync.client import BatchItem, HttpMainServer
from sync.models import OutboxItem, SenderState, SyncAttempt, SyncAudit, SyncRun
from sync.rules import ACKED, CANCELLED, CONFLICT, DEAD, IN_FLIGHT, PENDING, REVIEW, editable
from sync.sender import Sender
from sync.settings import SyncSettings
from tests.service.sync.conftest import configure, payload_for

KINDS = ("stock_move", "order", "prescription", "work_order")
_numbers = iter(range(1, 10**9))


def test_the_outbox_keeps_exactly_once_whatever_happens(committed_app, main_server, monkeypatch):
    configure(committed_app, monkeypatch, main_server.url, SYNC_BATCH_SIZE=4, SYNC_LEASE_SECONDS=30.0,
              SYNC_BREAKER_COOLDOWN_SECONDS=5.0, SYNC_BREAKER_COOLDOWN_CAP_SECONDS=20.0,
              SYNC_BACKOFF_BASE_SECONDS=1.0, SYNC_BACKOFF_CAP_SECONDS=8.0, SYNC_READ_TIMEOUT=2.0,
              SYNC_REVIEW={"order": ["hms_staff"]})
    with committed_app.app_context():
        hanna_id = _hms_user()
        db.session.remove()

    class Outbox(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.site = f"hyp-{uuid.uuid4().hex[:10]}"
            committed_app.config["SYNC_SITE_ID"] = self.site
            self.settings = SyncSettings.from_config(committed_app.config)
            self.offset = timedelta(0)
            self.context = committed_app.app_context()
            self.context.push()
            _reset_store()
            main_server.faults(down=False, drop_after_commit_next=0)
            self.sender = Sender(self.settings, "hyp-sender", clock=self.now)

        def now(self):  # noqa: ANN201
            return utcnow() + self.offset

        def teardown(self) -> None:
            try:
                main_server.faults(down=False, drop_after_commit_next=0)
                for item in _items(REVIEW):  # at the end of the day everything captured is looked at
                    review.approve(_user(hanna_id), item.key)
                self.offset += timedelta(minutes=10)
                for _ in range(40):
                    self.sender.run(trigger="final")
                    if not _waiting():
                        break
                    self.offset += timedelta(minutes=1)
                left = _waiting()
                assert not left, f"left pending or in flight: {left}"
                self.check()
                for item in _items():
                    assert item.state in (ACKED, CANCELLED, CONFLICT, DEAD, REVIEW, "resolved", "blocked"), item
            finally:
                db.session.remove()
                self.context.pop()

        # --- capture and people -------------------------------------------------------------------

        @rule(kind=st.sampled_from(KINDS), same_patient=st.booleans(), reviewed=st.booleans())
        def capture(self, kind: str, same_patient: bool, reviewed: bool) -> None:
            n = next(_numbers)
            begin_write()
            outbox.enqueue(kind, payload_for(kind, n), ordering_key="patient:1" if same_patient else None,
                           requires_review=reviewed and kind == "order", channel="phone")
            db.session.commit()

        @rule()
        def capture_a_conflict(self) -> None:
            n = next(_numbers)
            try:  # someone else registers the same row first (may meet the down or dropping server too)
                requests.post(main_server.url + "/api/v1/batch", timeout=5, json={"site": "elsewhere", "items": [
                    {"key": str(uuid.uuid4()), "kind": "prescription", "payload": payload_for("prescription", n)}]})
            except requests.RequestException:
                pass
            begin_write()
            outbox.enqueue("prescription", payload_for("prescription", n))
            db.session.commit()

        @precondition(lambda self: _any(REVIEW))
        @rule(data=st.data())
        def approve(self, data) -> None:  # noqa: ANN001
            item = data.draw(st.sampled_from(_items(REVIEW)))
            review.approve(_user(hanna_id), item.key)

        @precondition(lambda self: _any(REVIEW, PENDING))
        @rule(data=st.data())
        def edit(self, data) -> None:  # noqa: ANN001
            item = data.draw(st.sampled_from(_items(REVIEW, PENDING)))
            begin_write()
            if editable(item.state, item.attempts, item.uncertain):
                outbox.replace(item.key, {**item.data, "edited": next(_numbers)}, actor_id=hanna_id, note="edit")
                db.session.commit()
            else:
                db.session.rollback()

        @precondition(lambda self: _any(CONFLICT))
        @rule(data=st.data(), action=st.sampled_from(["link", "cancel_local", "send_as_new"]))
        def resolve(self, data, action: str) -> None:  # noqa: ANN001
            item = data.draw(st.sampled_from(_items(CONFLICT)))
            conflicts.resolve(_user(hanna_id), item.key, action, "hypothesis")

        # --- the world ------------------------------------------------------------------------------

        @rule(down=st.booleans())
        def server(self, down: bool) -> None:
            main_server.faults(down=down)

        @rule()
        def drop_the_next_reply(self) -> None:
            main_server.faults(drop_after_commit_next=1)

        @rule(seconds=st.sampled_from([1, 5, 31, 120]))
        def time_passes(self, seconds: int) -> None:
            self.offset += timedelta(seconds=seconds)

        @rule(batches=st.integers(1, 3))
        def sync_step(self, batches: int) -> None:
            self.sender.run(trigger="step", max_batches=batches)

        @rule(sent=st.booleans())
        def a_sender_dies(self, sent: bool) -> None:
            """Another sender claims a batch and dies, before or after sending it."""
            batch = claims.claim(f"doomed-{uuid.uuid4().hex[:6]}", 3, timedelta(seconds=30), self.now(), None)
            if sent and batch:
                try:
                    with HttpMainServer(self.settings) as client:
                        client.batch([BatchItem(c.key, c.kind, json.loads(c.payload)) for c in batch])
                except Exception:  # noqa: BLE001 - down or dropped: it died anyway
                    pass

        @rule()
        def sender_restarts(self) -> None:
            self.sender = Sender(self.settings, f"hyp-{uuid.uuid4().hex[:6]}", clock=self.now)

        # --- invariants --------------------------------------------------------------------------------

        @invariant()
        def check(self) -> None:
            created = _server_created(main_server, self.site)
            local = {item.key: item for item in _items()}
            assert set(created) <= set(local), "the server registered something we never captured"
            for key, item in local.items():
                if item.state == ACKED:
                    assert created.get(key) == item.server_id, (key, item.server_id, created.get(key))
                if item.state == CANCELLED:
                    assert key not in created, f"withdrawn here but registered there: {key}"
                if item.state == IN_FLIGHT:
                    assert item.lease_owner and item.lease_expires_at
            for item in local.values():
                if item.supersedes_key is None:
                    chain, link = [item], item
                    while link.superseded_by_key in local:
                        link = local[link.superseded_by_key]
                        chain.append(link)
                    assert sum(1 for c in chain if c.key in created) <= 1, "an edit chain registered twice"

    run_state_machine_as_test(Outbox, settings=settings(
        max_examples=20, stateful_step_count=25, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))


def _hms_user() -> int:
    from core.auth.roles import Role
    from tests import factories

    return factories.user("hanna-hyp", roles=(Role.HMS_STAFF,)).id


def _user(user_id: int):  # noqa: ANN202
    from core.models import User

    return db.session.get(User, user_id)


def _reset_store() -> None:
    begin_write()
    for model in (SyncAttempt, SyncAudit, OutboxItem, SyncRun, SenderState):
        db.session.execute(delete(model))
    db.session.commit()


def _items(*states: str) -> list[OutboxItem]:
    query = select(OutboxItem).order_by(OutboxItem.id).execution_options(populate_existing=True)
    if states:
        query = query.where(OutboxItem.state.in_(states))
    rows = list(db.session.scalars(query))
    db.session.commit()
    return rows


def _any(*states: str) -> bool:
    return bool(_items(*states))


def _waiting() -> list[tuple[str, str]]:
    return [(i.key, i.state) for i in _items(PENDING, IN_FLIGHT)]


def _server_created(server, site: str) -> dict[str, str]:  # noqa: ANN001
    return server.created(site)
