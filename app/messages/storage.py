"""Attachment bytes on disk under the instance folder, each under a random name of its own."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

FOLDER = "attachments"


def _root() -> Path:
    root = Path(current_app.instance_path) / FOLDER
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def _path(key: str) -> Path:
    if not key.isalnum():  # keys are ours (hex), never a path from outside
        raise ValueError("bad storage key")
    return _root() / key


def save(data: bytes) -> str:
    """Write the bytes durably under a new random key and return the key."""
    key = secrets.token_hex(16)
    target = _path(key)
    partial = target.with_suffix(".part")
    with open(partial, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(target)
    return key


def path_of(key: str) -> Path:
    """Return where the attachment's bytes are."""
    return _path(key)


def delete(key: str) -> None:
    """Remove the bytes; a missing file is not an error."""
    _path(key).unlink(missing_ok=True)
