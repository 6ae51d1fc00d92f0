"""The one outbound HTTP chokepoint: explicit timeouts, JSON in and out, a typed error.

Every call to another system (population register, main server, status checks) goes
through `request_json`, so timeouts, redirects and logging are decided in one place.
URL paths and bodies may carry personal data (a personnummer in a register path), so
neither is ever logged or put in an error message: only the method and scheme://host:port.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

Timeout = tuple[float, float]  # (connect, read) in seconds

# Asking again soon can help with these 4xx; every other 4xx needs a change on our side.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})


class TransportError(Exception):
    """An outbound call failed; `permanent` says that retrying the same request cannot help."""

    def __init__(self, message: str, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status

    def __repr__(self) -> str:
        return f"TransportError({self.message!r}, permanent={self.permanent}, status={self.status})"


def safe_target(url: str) -> str:
    """Return scheme://host:port of the URL: the part that may be logged."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{port}" if port else f"{parts.scheme}://{host}"


def _check_timeout(timeout: Any) -> Timeout:
    # requests treats None as "wait forever"; a chokepoint that allowed it would hang workers.
    if (not isinstance(timeout, tuple) or len(timeout) != 2
            or not all(isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 for t in timeout)):
        raise ValueError("timeout must be a (connect, read) pair of positive seconds")
    return timeout


def request_json(
    method: str,
    url: str,
    *,
    timeout: Timeout,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
    accept_statuses: Collection[int] = (),
) -> tuple[int, Any]:
    """Send one request and return (status, parsed JSON body or None), or raise TransportError.

    2xx and any status in `accept_statuses` (e.g. 404 for "not found") are returned; a 2xx
    body must be JSON or empty. Refused, reset, timed-out, 5xx, 408/425/429 → permanent=False;
    other 4xx, redirects, invalid JSON, TLS and URL errors → permanent=True. A read timeout
    on a non-idempotent method may mean the server acted: only retry idempotent requests.
    """
    connect_read = _check_timeout(timeout)
    _protect_transport_logs()
    target = f"{method.upper()} {safe_target(url)}"
    send_headers = {"Accept": "application/json", **(headers or {})}
    try:
        # Redirects are refused rather than followed: a body or path holding personal data
        # must not be replayed to a host nobody configured.
        if session is None:
            response = requests.request(method, url, json=json, headers=send_headers,
                                        timeout=connect_read, allow_redirects=False)
        else:
            response = session.request(method, url, json=json, headers=send_headers,
                                       timeout=connect_read, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        # `from None`: the requests exception text contains the full URL (path included).
        raise _failure(target, _describe(exc), permanent=_is_permanent(exc)) from None

    status = response.status_code
    if 200 <= status < 300:
        return status, _parse_body(response, target, strict=True)
    if status in accept_statuses:
        return status, _parse_body(response, target, strict=False)
    if status >= 500:
        raise _failure(target, f"server error {status}", permanent=False, status=status)
    if status in RETRYABLE_CLIENT_STATUSES:
        raise _failure(target, f"busy {status}", permanent=False, status=status)
    if 300 <= status < 400:
        raise _failure(target, f"unexpected redirect {status}", permanent=True, status=status)
    raise _failure(target, f"rejected {status}", permanent=True, status=status)


def _parse_body(response: requests.Response, target: str, *, strict: bool) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if not strict:
            return None  # an accepted error status often comes with an HTML page
        raise _failure(target, f"invalid JSON in {response.status_code} response", permanent=True,
                       status=response.status_code) from None


def _is_permanent(exc: requests.exceptions.RequestException) -> bool:
    # Certificate and URL problems are configuration errors; asking again gives the same answer.
    permanent = (requests.exceptions.SSLError, requests.exceptions.InvalidURL,
                 requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                 requests.exceptions.InvalidHeader, requests.exceptions.URLRequired,
                 requests.exceptions.TooManyRedirects)
    return isinstance(exc, permanent)


def _describe(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed (refused, reset or name not resolved)"
    return type(exc).__name__


def _failure(target: str, reason: str, *, permanent: bool, status: int | None = None) -> TransportError:
    message = f"{target}: {reason}"
    log.warning("outbound %s (%s)", message, "permanent" if permanent else "retryable")
    return TransportError(message, permanent=permanent, status=status)


# urllib3 logs request lines and URLs at DEBUG and WARNING; paths may hold a personnummer.
_FULL_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://[^/?#\s\"',)]+)([^\s\"',)]*)", re.IGNORECASE)
_BARE_PATH = re.compile(r"(?<![\w.:/\[])/[^\s\"',)]*")
_PATH_PLACEHOLDER = "/[path]"


def strip_paths(text: str) -> str:
    """Return the text with every URL path and query replaced by a placeholder."""
    text = _FULL_URL.sub(lambda m: m.group(1) + (_PATH_PLACEHOLDER if m.group(2) else ""), text)
    return _BARE_PATH.sub(_PATH_PLACEHOLDER, text)


class _PathStrippingFilter(logging.Filter):
    """Rewrite a transport library's record so its message carries no URL path."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = strip_paths(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_TRANSPORT_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")
_PATH_FILTER = _PathStrippingFilter()


def _protect_transport_logs() -> None:
    # Installed on first use, not at import; logger filters are not inherited, hence each name.
    for name in _TRANSPORT_LOGGERS:
        logger = logging.getLogger(name)
        if _PATH_FILTER not in logger.filters:
            logger.addFilter(_PATH_FILTER)
