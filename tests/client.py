"""The one test client: every request starts with an empty `g`, as on a real server."""
from __future__ import annotations

from flask import g, has_app_context
from flask.testing import FlaskClient


class FreshClient(FlaskClient):
    """A test client whose every request starts with an empty `g`, even under the `ctx` fixture.

    A request reuses an application context that is already pushed, and with it `g`, where
    Flask-Login caches the user and Flask-WTF the CSRF token; a real server never shares them.
    """

    def open(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)
