"""The report of users per prescribing unit, on screen and as CSV (admin only)."""
from __future__ import annotations

import csv
import io

from core.auth.roles import Role
from tests import factories
from tests.conftest import login


def read_csv(response) -> list[list[str]]:
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_csv_lists_each_user_under_each_of_their_units(client, world):
    factories.user("per", units=(world["north"], world["home"]), name="=Per Formel", areas=("nutrition",))
    factories.user("slutat", units=(world["home"],), name="Slutat Konto", active=False)
    factories.user("kundtjanst", roles=(Role.CUSTOMER_SERVICE,), name="Utan Enhet")
    login(client, "boss")
    response = client.get("/admin/behorighet/anvandare-per-enhet.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="anvandare-per-enhet-')
    header, *rows = read_csv(response)
    assert header[:4] == ["Kundnummer", "Förskrivande enhet", "Användarnamn", "Namn"]
    # Per unit, then by name ("=Per Formel" sorts before "Anna Lindström").
    assert [(r[0], r[2]) for r in rows] == [("410215", "per"), ("410215", "anna"), ("420107", "per")]
    per = rows[0]
    assert per[3] == "'=Per Formel" and per[5] == "Förskrivare" and per[6] == "Nutrition" and per[10] == "Ja"

    everyone = read_csv(client.get("/admin/behorighet/anvandare-per-enhet.csv?alla=1"))
    assert ("420107", "slutat", "Nej") in {(r[0], r[2], r[10]) for r in everyone[1:]}


def test_the_report_page_shows_the_same_rows_and_links_the_csv(client, world):
    login(client, "boss")
    html = client.get("/admin/behorighet/anvandare-per-enhet").get_data(as_text=True)
    assert "Ladda ner som CSV" in html and "Anna Lindström" in html and "410215" in html
    assert "Användare per förskrivande enhet" in client.get("/admin/").get_data(as_text=True)
