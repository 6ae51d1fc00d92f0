"""The one sortable, paged table: header arrows, page sizes 5–50, paging."""
from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from core.auth.roles import Role
from core.web.tables import DEFAULT_PAGE_SIZE, Column, TableState, paginate_list
from tests import factories
from tests.conftest import login

COLUMNS = (Column("n", "N", sort=lambda x: x), Column("label", "Etikett"))


def test_table_state_falls_back_on_unknown_or_out_of_range_values():
    state = TableState.from_args(MultiDict({"sort": "label", "dir": "sideways", "per_page": "500", "page": "-3"}),
                                 COLUMNS, default_sort="n")
    assert (state.sort, state.direction, state.per_page, state.page) == ("n", "asc", DEFAULT_PAGE_SIZE, 1)


def test_in_memory_tables_sort_and_page(app):
    with app.test_request_context("/?sort=n&dir=desc&per_page=5&page=2"):
        state = TableState.from_args(MultiDict({"sort": "n", "dir": "desc", "per_page": "5", "page": "2"}), COLUMNS)
        page = paginate_list(list(range(1, 13)), COLUMNS, state)
        assert page.rows == [7, 6, 5, 4, 3]
        assert (page.total, page.pages, page.first_index, page.last_index) == (12, 3, 6, 10)
        assert page.arrow(COLUMNS[0]) == "▼"
        assert page.next_direction(COLUMNS[0]) == "asc"


def _usernames(html: str) -> list[str]:
    return re.findall(r"<td>(user-\d\d)</td>", html)


def test_users_table_shows_ten_rows_by_default_sorts_both_ways_and_pages(client):
    factories.user("boss", roles=(Role.ADMIN,))
    for n in range(12):
        factories.user(f"user-{n:02d}")
    login(client, "boss")

    first = client.get("/admin/anvandare").get_data(as_text=True)
    assert len(re.findall(r"<tr>\s*<td>", first)) == 10
    assert 'aria-sort="ascending"' in first and "▲" in first

    descending = client.get("/admin/anvandare?sort=username&dir=desc&per_page=5").get_data(as_text=True)
    assert _usernames(descending) == ["user-11", "user-10", "user-09", "user-08", "user-07"]
    assert "▼" in descending

    last = client.get("/admin/anvandare?sort=username&dir=desc&per_page=5&page=3").get_data(as_text=True)
    assert _usernames(last) == ["user-01", "user-00"]
    assert "Sida 3 av 3" in last
    assert 'value="50"' in last and 'value="5"' in last
