"""Saved searches per user: save, list, replay, delete; names unique per user and scope."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import DomainError
from core.extensions import db
from core.models import SavedSearch
from app.savedsearches.services import delete_search, searches_for
from tests import factories
from tests.conftest import csrf_token_from, login


def test_save_keeps_the_criteria_not_the_paging_and_only_for_that_user(client, ctx):
    factories.user("karin")
    olle = factories.user("olle")
    login(client, "karin")
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    back = "/patient/?sok=1&q=1950&page=3&sort=personnummer&article=310001"
    response = client.post("/sparade-sokningar/", data={"csrf_token": token, "scope": "products",
                                                         "name": "Mina slipsar", "back": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    saved = db.session.scalar(select(SavedSearch))
    assert saved.query == "sok=1&q=1950&article=310001"
    again = client.post("/sparade-sokningar/", data={"csrf_token": token, "scope": "products",
                                                      "name": "Mina slipsar", "back": back}, follow_redirects=True)
    assert "redan en sparad sökning med det namnet" in again.get_data(as_text=True)

    assert searches_for(olle, "products") == []
    with pytest.raises(DomainError):
        delete_search(olle, saved.id)  # someone else's search
    client.post(f"/sparade-sokningar/{saved.id}/ta-bort", data={"csrf_token": token, "back": "/"})
    assert db.session.scalar(select(SavedSearch)) is None


def test_open_redirects_and_unknown_scopes_are_refused(client, ctx):
    factories.user("karin")
    login(client, "karin")
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post("/sparade-sokningar/", data={"csrf_token": token, "scope": "secrets", "name": "x",
                                                         "back": "//evil.example/"})
    assert response.headers["Location"] == "/"
    assert db.session.scalar(select(SavedSearch)) is None
