"""Load on loopback for the HTTP benchmarks: wrk's closed loop and a paced open loop of pollers.

Closed loop: wrk (Debian: apt-get install -y wrk). It is C, so on a 2-core machine it takes far less
CPU from the server than a Python client would; the Lua script counts 200s and 304s and prints one
parseable line. With `conditional` each connection sends the ETag it last got in If-None-Match, as a
poller does: a tag fixed at the start goes stale with the first change and then measures full answers.
Pollers at a given rate: `paced`, open loop. wrk cannot do that: it opens each connection before the
request is due and sends every connection's first request at once. Its CPU is printed next to its figures.
"""
from __future__ import annotations

import heapq
import os
import random
import selectors
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import harness

WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  conditional, tag, ok, not_modified = args[1] == "conditional", nil, 0, 0
  req = wrk.format()
end
function request() return req end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 elseif status == 304 then not_modified = not_modified + 1 end
  if conditional then
    local etag = headers["etag"] or headers["ETag"]
    if etag and etag ~= tag then
      tag = etag
      req = wrk.format(nil, nil, {["If-None-Match"] = etag})
    end
  end
end
function done(summary, latency, requests)
  local e, ok_all, nm_all = summary.errors, 0, 0
  for _, thread in ipairs(threads) do
    ok_all, nm_all = ok_all + thread:get("ok"), nm_all + thread:get("not_modified")
  end
  io.write(string.format("RESULT %d %.6f %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, summary.requests - ok_all - nm_all, ok_all, nm_all))
end
"""

Load = Callable[[], tuple[dict, float]]  # returns the figures and the client's CPU seconds


def measure(pids: list[int], load: Load) -> dict:
    """Run `load` and add what the server (`pids`), the client and everything else on the machine used:
    cores, the server's CPU time per request and the server's peak RSS (all its processes together)."""
    harness.reset_peak_rss(pids)
    with harness.CpuMeter({"server": pids}) as cpu:
        figures, client_cpu = load()
    rss = sum(harness.peak_rss_mb(pid) for pid in pids)
    return {**figures, "server": cpu.cores("server"), "client": client_cpu / cpu.seconds,
            "other": cpu.other_cores(client_cpu), "cpu_us": cpu.used["server"] / max(figures["n"], 1) * 1e6,
            "rss_mb": rss}


class Wrk:
    """wrk with the counting script written once into `directory`."""

    def __init__(self, directory: Path) -> None:
        self.binary = harness.require_wrk()
        self.script = directory / "load.lua"
        self.script.write_text(WRK_SCRIPT)

    def closed_loop(self, url: str, connections: int, duration: float, headers: Sequence[str] = (),
                    conditional: bool = False) -> tuple[dict, float]:
        """Keep `connections` requests in flight for `duration` seconds; return wrk's figures and its CPU seconds."""
        args = [self.binary, "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(self.script), "--timeout", "10s"]
        for header in headers:
            args += ["-H", header]
        args += [url, "--", "conditional" if conditional else "full"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = proc.stdout.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
        line = next((line for line in output.splitlines() if line.startswith("RESULT ")), None)
        if status != 0 or line is None:
            raise RuntimeError(f"wrk failed: {output}")
        n, secs, p50, p95, p99, worst, errors, other_status, _ok, not_modified = line.split()[1:]
        return ({"n": int(n), "rate": int(n) / float(secs), "p50": int(p50) / 1000, "p95": int(p95) / 1000,
                 "p99": int(p99) / 1000, "max": int(worst) / 1000, "errors": int(errors) + int(other_status),
                 "not_modified": int(not_modified)},
                usage.ru_utime + usage.ru_stime)


class _Poller:
    """One client: a kept-alive connection (a new one when the server closed it, opened when the next
    poll is due, as a browser would), when its current poll was due, the answer so far and its last ETag."""

    __slots__ = ("answer", "due", "etag", "number", "sock", "waiting")

    def __init__(self, number: int, due: float) -> None:
        self.number, self.due = number, due
        self.sock: socket.socket | None = None
        self.waiting, self.answer, self.etag = False, b"", b""


def _header(head: bytes, lowered: bytes, name: bytes) -> bytes | None:
    """Return a header's value as sent (`name` lower-case, with the CRLF before it)."""
    at = lowered.find(name)
    if at < 0:
        return None
    return head[at + len(name):].split(b"\r\n", 1)[0].strip()


def paced(port: int, path: str, clients: int, rate: float, duration: float, headers: Sequence[str] = (),
          conditional: bool = False) -> tuple[dict, float]:
    """Open loop: `clients` pollers, each polling every clients / rate seconds from its own random phase.

    A plain selector loop, far cheaper than asyncio streams (the client shares the 2 cores). Latency
    counts from when the poll was due, so a slow answer that delays the next poll is not hidden
    (no coordinated omission). With `conditional` each poller sends the ETag it last got.
    """
    period = clients / rate
    request_head = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{h}\r\n" for h in headers)).encode()
    selector = selectors.DefaultSelector()
    cpu0, start = time.process_time(), time.monotonic() + 0.2
    deadline = start + duration
    pollers = [_Poller(i, start + random.uniform(0, period)) for i in range(clients)]
    due = [(p.due, p.number) for p in pollers]
    heapq.heapify(due)
    latencies: list[float] = []
    errors = in_flight = not_modified = 0

    def close(poller: _Poller) -> None:
        selector.unregister(poller.sock)
        poller.sock.close()
        poller.sock = None

    def send(poller: _Poller) -> None:
        tag = b"If-None-Match: " + poller.etag + b"\r\n" if conditional and poller.etag else b""
        request = request_head + tag + b"\r\n"
        for _ in range(2):  # a kept-alive connection may have been closed by the server meanwhile
            if poller.sock is None:
                poller.sock = socket.create_connection(("127.0.0.1", port))
                poller.sock.setblocking(False)
                selector.register(poller.sock, selectors.EVENT_READ, poller)
            try:
                poller.sock.send(request)  # small enough for an empty socket buffer
                poller.waiting = True
                return
            except OSError:
                close(poller)
        raise RuntimeError("cannot send a poll")

    while due or in_flight:
        now = time.monotonic()
        while due and due[0][0] <= now:
            send(pollers[heapq.heappop(due)[1]])
            in_flight += 1
        for key, _ in selector.select(max(due[0][0] - now, 0) if due else 0.1):
            poller = key.data
            try:
                data = poller.sock.recv(262144)
            except ConnectionError:
                data = b""
            if not poller.waiting:  # the server closed an idle kept-alive connection
                close(poller)
                continue
            poller.answer += data
            head, found, body = poller.answer.partition(b"\r\n\r\n")
            response = head.lower()
            length = int(_header(head, response, b"\r\ncontent-length:") or 0)
            complete = found and len(body) >= length
            if data and not complete:
                continue
            if complete and response.startswith((b"http/1.1 200", b"http/1.1 304")):
                latencies.append(time.monotonic() - poller.due)
                not_modified += response.startswith(b"http/1.1 304")
                poller.etag = _header(head, response, b"\r\netag:") or poller.etag
            else:
                errors += 1
            poller.waiting, poller.answer, in_flight = False, b"", in_flight - 1
            if not data or b"connection: close" in response:
                close(poller)
            poller.due += period
            if poller.due < deadline:
                heapq.heappush(due, (poller.due, poller.number))
    elapsed = time.monotonic() - start
    for poller in pollers:
        if poller.sock is not None:
            close(poller)
    ms = sorted(x * 1000 for x in latencies) or [0.0]
    figures = {"n": len(latencies), "rate": len(latencies) / elapsed, "p50": harness.percentile(ms, 50),
               "p95": harness.percentile(ms, 95), "p99": harness.percentile(ms, 99), "max": ms[-1], "errors": errors,
               "not_modified": not_modified}
    return figures, time.process_time() - cpu0
