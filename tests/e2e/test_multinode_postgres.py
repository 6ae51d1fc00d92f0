"""Several nodes on one PostgreSQL, as a region runs it: two web nodes, two monitors, the reference main
server and a real SMTP server, all real processes (app.demo.stack) on a schema of their own.

Only meaningful on PostgreSQL (the monitors share an advisory lock there), so it runs in the PostgreSQL
pass of `make test` and is skipped on the SQLite pass.
"""
from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import Connection, create_engine, text

from app.demo.api_user import PASSWORD, ApiUser
from app.demo.stack import Stack, wait_until
from core.config import normalise_database_url
from tests.conftest import csrf_token_from, postgres_schema
from tests.smtp_server import Inbox

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="several nodes share one PostgreSQL store; the PostgreSQL pass runs this")

# Addresses of this module's own: the mail server is shared with the browser tests (tests/e2e/conftest.py).
SUPPLIER = "support-multinode@leverantor.example"  # gets the outage's escalation mail
CUSTOMER_SERVICE = "kundtjanst-multinode@region.example"  # gets the reserve routine's activation notice
ITEMS = 16  # captured during the outage, alternately through the two web nodes
STOCK_MOVE = {"kind": "stock_move", "channel": "phone", "unit": "420107", "article": "333055", "packages": 3}


@dataclass
class Region:
    """The running processes, their schema's URL, and the name their connections carry in pg_stat_activity."""

    stack: Stack
    url: str
    application_name: str

    @property
    def web_urls(self) -> list[str]:
        return self.stack.web_urls


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, mail_server: Controller) -> Iterator[Region]:
    """Two web nodes (one worker each) and two monitors on one schema; mail to `mail_server`."""
    name = f"multinode_{uuid.uuid4().hex[:8]}"
    with postgres_schema(normalise_database_url(os.environ["TEST_DATABASE_URL"]), f"_{name}") as url:
        settings = {
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_server.port),
            "STATUS_ESCALATION_RECIPIENTS": json.dumps({"supplier": SUPPLIER, "customer_service": CUSTOMER_SERVICE}),
            "STATUS_ON_DUTY": '{"weekdays": []}',
            # A standby tries the lock every 0.5 s; an item claimed by a killed sender is free after 2 s.
            "STATUS_LEASE_SECONDS": "1.5", "SYNC_LEASE_SECONDS": "2", "SYNC_BATCH_SIZE": "2",
            "SYNC_REVIEW": "{}",  # captured items go out without the review gate: the drain is what is tested
            "WEB_WORKERS": "1", "WEB_THREADS": "4",
        }
        stack = Stack(tmp_path_factory.mktemp("region"), patients=30, web_nodes=2, monitors=2,
                      database_url=f"{url}&application_name={name}", extra_env=settings)
        try:
            stack.start()
            wait_until(stack.active_monitor, 30, "a monitor to take the lock")
            yield Region(stack, url, name)
        except BaseException:
            print(stack.logs())
            raise
        finally:
            stack.stop()


def log_in(base_url: str, username: str) -> str:
    """Log in through the real form on one web node; return the session cookie's value."""
    browser = requests.Session()
    token = csrf_token_from(browser.get(f"{base_url}/login", timeout=10).text)
    answer = browser.post(f"{base_url}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    return browser.cookies["fp_session"]


def my_page(base_url: str, cookie: str) -> requests.Response:
    return requests.get(f"{base_url}/min-sida/", cookies={"fp_session": cookie}, allow_redirects=False, timeout=10)


def test_a_session_from_one_web_node_is_valid_on_the_other_and_ends_on_both(region: Region) -> None:
    web1, web2 = region.web_urls
    cookie = log_in(web1, "prescriber")
    page = my_page(web1, cookie)
    assert page.status_code == 200
    assert my_page(web2, cookie).status_code == 200, my_page(web2, cookie).headers.get("Location")

    # A form rendered by one node is accepted by the other: no sticky sessions needed behind the load balancer.
    token = csrf_token_from(page.text)  # web1's logout form
    logout = requests.post(f"{web2}/logout", data={"csrf_token": token}, cookies={"fp_session": cookie},
                           allow_redirects=False, timeout=10)
    assert logout.status_code == 302
    for node in (web1, web2):
        ended = my_page(node, cookie)
        assert ended.status_code == 302 and "/login" in ended.headers["Location"], node


def test_an_outage_with_two_monitors_activates_once_mails_once_and_registers_each_item_once(
        region: Region, inbox: Inbox) -> None:
    stack = region.stack
    main_faults(stack, down=True)
    status = wait_until(lambda: outage(stack), 30, "the outage on the status page")
    incident_id = status["reserve"]["incident_id"]
    stack.advance_clock(timedelta(hours=4, minutes=1))
    wait_until(lambda: stack.status()["reserve"]["applies"], 30, "the reserve routine to apply")

    services = [ApiUser(url, "customer_service") for url in region.web_urls]
    numbers = [services[n % 2].post("/reserve/items", STOCK_MOVE)["reserve_number"] for n in range(ITEMS)]
    assert len(set(numbers)) == ITEMS

    # The main server answers again, slowly, so the drain takes seconds; kill the active monitor halfway.
    main_faults(stack, down=False, latency_ms=400)
    wait_until(lambda: len(held(stack, numbers)) >= 2, 60, "the first items to be registered")
    active = stack.active_monitor()
    assert active is not None
    stack.kill(active)
    assert len(held(stack, numbers)) < ITEMS, "the drain ended before the monitor was killed"

    wait_until(lambda: len(held(stack, numbers)) == ITEMS, 60, "the standby to register the rest", every=0.5)
    assert stack.active_monitor() not in (None, active)
    assert held(stack, numbers) == {number: 1 for number in numbers}
    hms = ApiUser(region.web_urls[1], "hms_staff")
    # A batch the killed sender had sent is acknowledged once the standby resends it under the same keys.
    wait_until(lambda: hms.get("/sync/items", kind="stock_move", state="acked")["total"] == ITEMS, 30,
               "every item to be acknowledged in the portal")

    with store(region) as conn:
        activations = conn.scalar(text("SELECT count(*) FROM status_incident_updates "
                                       "WHERE incident_id = :id AND kind = 'reserve'"), {"id": incident_id})
    assert activations == 1
    wait_until(lambda: inbox.to(SUPPLIER) and inbox.to(CUSTOMER_SERVICE), 15, "the escalation and reserve mails")
    assert len(inbox.to(SUPPLIER)) == 1, [str(m["Subject"]) for m in inbox.to(SUPPLIER)]
    assert len(inbox.to(CUSTOMER_SERVICE)) == 1, [str(m["Subject"]) for m in inbox.to(CUSTOMER_SERVICE)]


def test_both_web_nodes_answer_at_once_after_postgres_drops_every_connection(region: Region) -> None:
    cookie = log_in(region.web_urls[0], "hms_staff")
    with store(region) as conn:
        ended = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE application_name = :name"), {"name": region.application_name})
    assert ended >= 3  # both web nodes' pools and a monitor's lock connection at least
    for node in region.web_urls:
        assert my_page(node, cookie).status_code == 200, node  # the first request after it, no retry
    wait_until(region.stack.active_monitor, 15, "a monitor to hold the lock again")


# --- helpers -------------------------------------------------------------------------------------------


def main_faults(stack: Stack, **faults: object) -> None:
    requests.post(f"{stack.main_url}/admin/faults", json=faults, timeout=5).raise_for_status()


def outage(stack: Stack) -> dict | None:
    status = stack.status()
    return status if status["overall"]["state"] == "outage" and status["reserve"]["incident_id"] else None


def held(stack: Stack, numbers: list[str]) -> dict[str, int]:
    """How many records the main server's store holds for each of these reserve numbers (absent: none)."""
    with closing(sqlite3.connect(f"file:{stack.directory / 'main_server.sqlite3'}?mode=ro", uri=True)) as conn:
        rows = conn.execute(f"SELECT form_number, count(*) FROM records WHERE form_number IN "
                            f"({','.join('?' * len(numbers))}) GROUP BY form_number", numbers).fetchall()
    return dict(rows)


@contextmanager
def store(region: Region) -> Iterator[Connection]:
    """A connection of the test's own to the region's PostgreSQL schema."""
    engine = create_engine(region.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
