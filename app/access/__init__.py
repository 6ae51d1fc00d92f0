"""Access applications (seed 003), changes, termination, forgotten password, users-per-unit report."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the package (filled in by the access-application work)."""
