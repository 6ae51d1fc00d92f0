"""The main server's HTTP contract, client side; every call goes through core.outbound.request_json.

One client per sender run keeps a connection alive between batches; close it (or use it
as a context manager) when the run ends. Errors come as TransportError: `permanent` says
whether asking again can help. A batch whose call failed after it was sent is ambiguous:
the server may have registered it, which is what /have is for.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from core.outbound import TransportError, request_json
from sync.settings import SyncSettings

__all__ = ["BatchItem", "HttpMainServer", "MainServer", "TransportError"]


@dataclass(frozen=True)
class BatchItem:
    key: str
    kind: str
    payload: Mapping[str, Any]


class MainServer(Protocol):
    def batch(self, items: Sequence[BatchItem]) -> Any: ...

    def have(self, keys: Sequence[str]) -> dict[str, str]: ...

    def changes(self, cursor: str | None, limit: int) -> dict: ...

    def record(self, record_id: str) -> dict | None: ...

    def health(self) -> None: ...

    def close(self) -> None: ...


def _settle_environment(session: requests.Session, url: str) -> None:
    """Settle the proxy and CA bundle settings for the main server once, not on every call.

    requests merges them from the environment per request (about 0.5 ms a batch); this is the
    same merge, done once. The Authorization header is ours, so ~/.netrc never applies.
    """
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies, session.verify = settings["proxies"], settings["verify"]
    session.trust_env = False


class HttpMainServer:
    """The contract over HTTP (see sync/README.md)."""

    def __init__(self, settings: SyncSettings, *, session: requests.Session | None = None) -> None:
        self.base = settings.main_server_url
        self.health_path = settings.health_path
        self.site = settings.site_id
        self.timeout = (settings.connect_timeout, settings.read_timeout)
        self.headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
        self.session = session or requests.Session()
        if self.session.trust_env:
            _settle_environment(self.session, self.base)

    def __enter__(self) -> HttpMainServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, path: str, body: Any = None, accept: tuple[int, ...] = ()) -> tuple[int, Any]:
        return request_json(method, self.base + path, timeout=self.timeout, json=body, headers=self.headers,
                            session=self.session, accept_statuses=accept)

    def batch(self, items: Sequence[BatchItem]) -> Any:
        """POST /api/v1/batch; return the parsed answer (checked by the caller against the keys sent)."""
        _, body = self._call("POST", "/api/v1/batch", {
            "site": self.site,
            "items": [{"key": i.key, "kind": i.kind, "payload": i.payload} for i in items],
        })
        return body

    def have(self, keys: Sequence[str]) -> dict[str, str]:
        """POST /api/v1/have; return key → server id for the keys the server has registered."""
        known: dict[str, str] = {}
        for start in range(0, len(keys), 1000):
            _, body = self._call("POST", "/api/v1/have", {"site": self.site, "keys": list(keys[start:start + 1000])})
            if not isinstance(body, Mapping) or not isinstance(body.get("known"), Mapping):
                raise TransportError("POST /api/v1/have: answer without 'known'", permanent=True)
            known.update({str(k): str(v) for k, v in body["known"].items()})
        return known

    def health(self) -> None:
        """GET the health page; raise TransportError unless it answers 2xx (JSON or not)."""
        try:
            self._call("GET", self.health_path)
        except TransportError as exc:
            if exc.status is None or not 200 <= exc.status < 300:
                raise

    def changes(self, cursor: str | None, limit: int) -> dict:
        """GET /api/v1/changes?since=cursor; return articles, patients, withdrawals, cursor, more."""
        since = cursor or "0"
        _, body = self._call("GET", f"/api/v1/changes?since={since}&limit={int(limit)}")
        if not isinstance(body, Mapping) or "cursor" not in body:
            raise TransportError("GET /api/v1/changes: answer without a cursor", permanent=True)
        return dict(body)

    def record(self, record_id: str) -> dict | None:
        """GET /api/v1/records/<id>; None when the server has no such record."""
        status, body = self._call("GET", f"/api/v1/records/{requests.utils.quote(record_id, safe='')}",
                                  accept=(404,))
        return body if status == 200 and isinstance(body, dict) else None
