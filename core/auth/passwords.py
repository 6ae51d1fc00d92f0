"""Password hashing and the password policy for real accounts."""
from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12

# A hash to compare against when the username is unknown, so both paths cost the same.
_DUMMY_HASH_CACHE: dict[str, str] = {}


def hash_password(password: str) -> str:
    """Return a salted hash of the password with the configured method."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether the password matches; spend the same time when there is no hash."""
    if password_hash is None:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        password_hash = _DUMMY_HASH_CACHE.setdefault(method, generate_password_hash("x", method=method))
        check_password_hash(password_hash, password)
        return False
    return check_password_hash(password_hash, password)


def password_policy_problems(password: str, username: str = "") -> list[str]:
    """Return what the password lacks under the policy for real accounts (empty when it passes)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"minst {MIN_LENGTH} tecken")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append("både bokstäver och siffror")
    if username and username.lower() in password.lower():
        problems.append("får inte innehålla användarnamnet")
    return problems
