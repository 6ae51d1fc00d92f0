"""Decisions and single-use links hold when two requests race on real connections."""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from app.access import decisions, password_reset, services, tokens
from app.access.rules import TokenPurpose
from core.auth.roles import Role
from core.errors import DomainError
from core.extensions import db
from core.models import User
from tests import factories
from tests.service.status.conftest import free_port


def race(app, work: Callable[[int], str]) -> list[str]:
    """Run work(0) and work(1) at the same moment, each in its own app context; return their outcomes."""
    start = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def run(n: int) -> None:
        with app.app_context():
            start.wait()
            outcomes.append(work(n))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_two_admins_approving_at_once_create_one_account(committed_app):
    committed_app.config["MAIL_PORT"] = free_port()
    with committed_app.app_context():
        factories.product_area("inkontinens")
        factories.unit(customer_number="410215")
        boss_id = factories.user("boss", roles=(Role.ADMIN,)).id
        application_id = services.submit_application(services.ApplicationInput(
            kind="new", name="Eva Nyström", email="eva@region.example", phone="040-1", workplace="VC Norr",
            role="prescriber", product_areas=("inkontinens",), units="410215", manager_name="Bertil Chef",
            manager_email="bertil@region.example")).id

    def approve(n: int) -> str:
        try:
            decisions.approve(db.session.get(User, boss_id), application_id, f"eva{n}nys")
            return "approved"
        except DomainError:
            return "refused"

    assert race(committed_app, approve) == ["approved", "refused"]
    with committed_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username.like("eva%"))) == 1


def test_a_password_link_used_twice_at_once_sets_one_password(committed_app):
    with committed_app.app_context():
        user = factories.user("anna")
        token = tokens.issue(TokenPurpose.RESET_PASSWORD, committed_app.config["ACCESS_RESET_TOKEN_LIFETIME"],
                             user_id=user.id)
        db.session.commit()

    def choose(n: int) -> str:
        try:
            password_reset.set_password(token, f"Vintersol 2026 nr{n}", f"Vintersol 2026 nr{n}")
            return "set"
        except services.LinkInvalid:
            return "refused"

    assert race(committed_app, choose) == ["refused", "set"]
