"""The web server as `make run` starts it: gunicorn with gunicorn.conf.py, a real process on loopback."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from app.demo.stack import BIN, ROOT, free_port, wait_until


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("web_server")  # one server for the module's tests: starting one takes seconds
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "STATUS_", "SYNC_"))},
           "HOST": "127.0.0.1", "PORT": str(port), "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "web-server-test",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}", "WEB_WORKERS": "2"}
    with (tmp_path / "gunicorn.log").open("wb") as log:
        process = subprocess.Popen([str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "app.wsgi:app"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/health", timeout=2).status_code, 30, "gunicorn")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)


def test_idle_connections_a_browser_opens_ahead_do_not_hold_the_workers(web_server: str) -> None:
    # Chromium preconnects sockets it may never use; with no proxy in front, a sync worker would wait on
    # each until its 30 s timeout. Twice as many idle sockets as workers:
    host, port = web_server.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port))) for _ in range(4)]
    try:
        started = time.monotonic()
        assert requests.get(f"{web_server}/health", timeout=20).status_code in (200, 503)
        assert time.monotonic() - started < 3
    finally:
        for connection in idle:
            connection.close()


def test_each_answer_closes_its_connection_so_the_next_request_goes_to_a_free_worker(web_server: str) -> None:
    # A kept-alive connection would stay with one worker (one core, the GIL) while another sat idle.
    with requests.Session() as session:
        answers = [session.get(f"{web_server}{path}", timeout=10) for path in ("/health", "/login", "/health")]
        polls = [session.get(f"{web_server}/status.json", timeout=10) for _ in range(2)]
    assert [a.headers.get("Connection", "").lower() for a in answers] == ["close"] * 3
    # The status page's pollers keep theirs: answered from cached bytes, a connection each would cost more.
    assert [p.headers.get("Connection", "").lower() for p in polls] == ["keep-alive"] * 2
