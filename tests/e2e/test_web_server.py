"""The web server as `make run` starts it: bin/web (granian, or gunicorn with gunicorn.conf.py), a real process."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from app.demo.stack import BIN, ROOT, free_port, wait_until


@dataclass(frozen=True)
class Web:
    url: str
    log: Path


BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "STATUS_", "SYNC_", "WEB_"))}
WORKERS = 2
WORKER_STARTED = re.compile(r"Started worker-|Booting worker")  # granian's line, gunicorn's


@pytest.fixture(scope="module")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("web") / "store.sqlite3"
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, check=True, capture_output=True,
                   env={**BASE_ENV, "FLASK_APP": "app", "SECRET_KEY": "web-server-test",
                        "DATABASE_URL": f"sqlite:///{store}"})
    return store


@contextlib.contextmanager
def started_web(server: str, directory: Path, store: Path) -> Iterator[tuple[Web, subprocess.Popen]]:
    """Start bin/web with this server on a copy of the store; yield once every worker is up; stop it."""
    port = free_port()
    shutil.copy(store, directory / "store.sqlite3")
    env = {**BASE_ENV, "HOST": "127.0.0.1", "PORT": str(port), "INSTANCE_PATH": str(directory),
           "SECRET_KEY": "web-server-test", "DATABASE_URL": f"sqlite:///{directory / 'store.sqlite3'}",
           "WEB_WORKERS": str(WORKERS), "WEB_SERVER": server, "PATH": f"{BIN}:{os.environ['PATH']}"}
    log = directory / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(ROOT / "bin" / "web")], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/health", timeout=2).status_code, 30, server)
        # Every worker up: a SIGTERM while one still loads the app can leave granian waiting for it.
        wait_until(lambda: len(WORKER_STARTED.findall(log.read_text())) >= WORKERS, 30, f"{WORKERS} workers")
        yield Web(url, log), process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        finally:  # a test may have killed the main process: its workers are still in the group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module", params=["granian", "gunicorn"])
def web_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
               migrated_store: Path) -> Iterator[Web]:
    """bin/web with each server, once per module: starting the app is most of these tests' time."""
    with started_web(request.param, tmp_path_factory.mktemp(request.param), migrated_store) as (web, _process):
        yield web


def test_gunicorn_binds_no_control_socket_that_a_second_node_on_the_host_would_share(web_server: Web) -> None:
    log = web_server.log.read_text()
    assert ("Booting worker" in log) == ("gunicorn" in log)  # which server this is
    assert "gunicorn.ctl" not in log and "ontrol socket" not in log


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    try:  # a zombie waits only for its (new) parent to read its status: it serves nothing
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_the_workers_end_when_the_main_process_is_killed(server: str, tmp_path: Path, migrated_store: Path) -> None:
    # An orchestrator's hard stop or the OOM killer: no handler of the main process runs. Its workers
    # must not go on serving the old code on the port, unsupervised, beside the next start.
    with started_web(server, tmp_path, migrated_store) as (web, process):
        workers = _children(process.pid)
        assert len(workers) == WORKERS
        os.kill(process.pid, signal.SIGKILL)
        process.wait(5)
        wait_until(lambda: not any(_running(pid) for pid in workers), 15, "the orphaned workers to end")
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{web.url}/health", timeout=2)


def test_idle_connections_a_browser_opens_ahead_do_not_hold_the_workers(web_server: Web) -> None:
    # Chromium preconnects sockets it may never use; with no proxy in front, a sync worker would wait on
    # each until its 30 s timeout. Twice as many idle sockets as workers:
    host, port = web_server.url.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port))) for _ in range(4)]
    try:
        started = time.monotonic()
        assert requests.get(f"{web_server.url}/health", timeout=20).status_code in (200, 503)
        assert time.monotonic() - started < 3
    finally:
        for connection in idle:
            connection.close()


def test_the_access_log_names_paths_without_query_strings_and_skips_answered_status_polls(web_server: Web) -> None:
    health_before = web_server.log.read_text().count('"GET /health"')  # the fixture's readiness probes
    with requests.Session() as browser:
        etag = browser.get(f"{web_server.url}/status.json", timeout=10).headers["ETag"]
        assert browser.get(f"{web_server.url}/status.json", headers={"If-None-Match": etag}, timeout=10).status_code == 304
        searched = browser.get(f"{web_server.url}/api/v1/patients", params={"q": "199001011239"}, timeout=10)
        assert searched.status_code == 401  # no token: logged all the same
        assert browser.get(f"{web_server.url}/health", timeout=10).status_code in (200, 503)

    def logged() -> str:
        # Each worker writes its own lines: wait for this test's last request and for the search.
        text = web_server.log.read_text()
        return text if text.count('"GET /health"') > health_before and '"GET /api/v1/patients"' in text else ""

    log = wait_until(logged, 10, "the access-log lines of this test's /health and search")
    assert '"GET /api/v1/patients" 401' in log
    assert "19900101" not in log and "q=" not in log  # the searched personnummer never reaches the log
    assert "/status.json" not in log


def test_one_client_keeps_its_connection_under_granian_and_gets_one_per_answer_under_gunicorn(web_server: Web) -> None:
    # granian: no other request met these in their worker, so the connection stays (status.wsgi.CloseConnections;
    # tests/unit/test_connection_reuse.py shows one that met another closing). gunicorn: gunicorn.conf.py's
    # pre_request closes every answer's connection but the polls'.
    gunicorn = "Booting worker" in web_server.log.read_text()
    with requests.Session() as session:
        answers = [session.get(f"{web_server.url}{path}", timeout=10) for path in ("/health", "/login", "/health")]
        polls = [session.get(f"{web_server.url}/status.json", timeout=10) for _ in range(2)]
    closed = [a.headers.get("Connection", "").lower() == "close" for a in answers]
    assert closed == [gunicorn] * 3
    # The status page's pollers keep theirs: answered from cached bytes, a connection each would cost more.
    assert all(p.headers.get("Connection", "keep-alive").lower() != "close" for p in polls)
