"""A small, nasty TCP proxy on loopback: resets connections and goes up and down at random.

Between the sender and the main server it forwards bytes both ways, except that it
  * resets a connection now and then while the request goes up (the server never sees it whole),
  * resets a connection now and then when the answer comes back (the server did the work, the
    sender never hears of it: commit, then drop),
  * goes down for random spells, during which every connection is reset on arrival and every
    open one is cut.
Used by tests/service/sync/test_flapping.py and bench/sync_soak.py. Threads only; `stop()` joins them all.
"""
from __future__ import annotations

import random
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Chaos:
    reset_request_rate: float = 0.05
    reset_response_rate: float = 0.05
    up_seconds: tuple[float, float] = (0.3, 1.2)
    down_seconds: tuple[float, float] = (0.05, 0.4)
    seed: int = 1


@dataclass
class Tally:
    connections: int = 0
    request_resets: int = 0
    response_resets: int = 0
    refused_while_down: int = 0
    down_spells: int = 0
    forwarded_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN: the peer sees 'connection reset by peer'."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class FlappingProxy:
    def __init__(self, upstream_port: int, chaos: Chaos | None = None) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.chaos = chaos or Chaos()
        self.random = random.Random(self.chaos.seed)
        self.random_lock = threading.Lock()
        self.tally = Tally()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.down = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.flapping = False
        self.breaking: tuple[bytes, int] = (b"", 0)  # the next requests starting so are reset (break_requests)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _chance(self, rate: float) -> bool:
        with self.random_lock:
            return self.random.random() < rate

    def _uniform(self, low: float, high: float) -> float:
        with self.random_lock:
            return self.random.uniform(low, high)

    def start(self, *, flap: bool = True) -> FlappingProxy:
        self.flapping = flap
        self._spawn(self._accept_loop)
        if flap:
            self._spawn(self._flap_loop)
        return self

    def calm(self) -> None:
        """Stop flapping and resetting: from now on a plain, reliable proxy."""
        self.flapping = False
        self.chaos = Chaos(0.0, 0.0, self.chaos.up_seconds, self.chaos.down_seconds, self.chaos.seed)
        self.down.clear()

    def break_requests(self, start: bytes, count: int = 1) -> None:
        """Reset the next `count` requests whose first bytes are `start` (b"POST /api/v1/batch") on their way up."""
        with self.random_lock:
            self.breaking = (start, count)

    def _breaks(self, data: bytes) -> bool:
        with self.random_lock:
            start, count = self.breaking
            if count and data.startswith(start):
                self.breaking = (start, count - 1)
                return True
        return False

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(5)
        self.listener.close()

    def _spawn(self, target, *args) -> None:  # noqa: ANN001
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _flap_loop(self) -> None:
        while not self.stopping.is_set() and self.flapping:
            if self.stopping.wait(self._uniform(*self.chaos.up_seconds)) or not self.flapping:
                break
            self.down.set()
            self.tally.add("down_spells")
            self.stopping.wait(self._uniform(*self.chaos.down_seconds))
            self.down.clear()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.tally.add("connections")
            if self.down.is_set():
                self.tally.add("refused_while_down")
                _reset(client)
                continue
            self._spawn(self._pump, client)

    def _pump(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=2)
        except OSError:
            _reset(client)
            return
        sockets = [client, upstream]
        for sock in sockets:  # forward each piece at once (no Nagle delay on headers, then body)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not self.stopping.is_set():
                if self.down.is_set():
                    return
                readable, _, _ = select.select(sockets, [], [], 0.05)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client and (self._breaks(data) or self._chance(self.chaos.reset_request_rate)):
                        self.tally.add("request_resets")
                        return  # part of the request never leaves
                    if sock is upstream and self._chance(self.chaos.reset_response_rate):
                        self.tally.add("response_resets")
                        return  # the server answered; the client never hears it
                    (upstream if sock is client else client).sendall(data)
                    self.tally.add("forwarded_bytes", len(data))
        except OSError:
            return
        finally:
            _reset(client)
            upstream.close()


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
