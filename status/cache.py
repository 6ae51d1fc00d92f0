"""The per-process cache of the public status (STATUS_PAGE_CACHE_SECONDS)."""
from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app

_KEY = "status_public_cache"


def get() -> Any | None:
    """Return the cached value while it is fresh, else None."""
    return peek(current_app)


def peek(app: Flask) -> Any | None:
    """Return the app's cached value while it is fresh, else None; needs no application context."""
    ttl = float(app.config.get("STATUS_PAGE_CACHE_SECONDS") or 0)
    cached = app.extensions.get(_KEY)
    if ttl > 0 and cached is not None and time.monotonic() - cached[0] < ttl:
        return cached[1]
    return None


def peek_expired(app: Flask) -> Any | None:
    """Return the app's cached value once it has expired, for at most one more interval; else None.

    An invalidated value is gone: only a rendering that merely aged is worth answering with while
    one request renders the next (status/wsgi.py).
    """
    ttl = float(app.config.get("STATUS_PAGE_CACHE_SECONDS") or 0)
    cached = app.extensions.get(_KEY)
    if ttl > 0 and cached is not None and ttl <= time.monotonic() - cached[0] < 2 * ttl:
        return cached[1]
    return None


def put(value: Any) -> None:
    if float(current_app.config.get("STATUS_PAGE_CACHE_SECONDS") or 0) > 0:
        current_app.extensions[_KEY] = (time.monotonic(), value)


def invalidate() -> None:
    """Forget this process's cached status (after a change made here)."""
    current_app.extensions.pop(_KEY, None)
