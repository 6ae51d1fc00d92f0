"""Random bearer secrets (session cookies, API tokens) and the digest the store keeps instead of them."""
from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """Return a fresh 256-bit secret, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """Return the SHA-256 hex digest stored in place of the token."""
    return hashlib.sha256(token.encode()).hexdigest()
