"""A demo account talking to the product's JSON API over HTTP, as a user's program would (the demos use it)."""
from __future__ import annotations

import requests

PASSWORD = "demo"  # every demo account's (flask seed-demo)


class DemoFailed(Exception):
    """A step of a demo did not go as the product promises."""


class ApiUser:
    """One demo account using /api/v1 with its bearer token."""

    def __init__(self, web_url: str, username: str) -> None:
        self.username = username
        self.base = f"{web_url}/api/v1"
        self.session = requests.Session()
        token = self.request("POST", "/tokens", json={"username": username, "password": PASSWORD})["token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs: object) -> dict:
        """Return the JSON answer; refuse with the answer's text when its status is not one of `expect`."""
        response = self.session.request(method, self.base + path, timeout=10, **kwargs)  # type: ignore[arg-type]
        if response.status_code not in expect:
            raise DemoFailed(f"{self.username}: {method} /api/v1{path} answered {response.status_code}: "
                             f"{response.text[:400]}")
        return response.json()

    def get(self, path: str, **params: object) -> dict:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict | None = None) -> dict:
        return self.request("POST", path, json=body or {})
