"""The page shell in Swedish: start page, tabs, breadcrumbs, Min sida."""
from __future__ import annotations

from datetime import datetime

from core.auth.roles import Role
from core.extensions import db
from core.models import NewsItem
from tests import factories
from tests.conftest import login


def test_start_page_shows_customer_service_news_and_quick_links(client, app):
    with app.app_context():
        db.session.add(NewsItem(title="Nytt sortiment för stomi", body="Från 1 december.", published_at=datetime(2026, 11, 1)))
        db.session.commit()
    factories.user("karin")
    login(client, "karin")
    html = client.get("/").get_data(as_text=True)
    assert app.config["CUSTOMER_SERVICE_PHONE"] in html
    assert "Öppettider" in html
    assert "Nytt sortiment för stomi" in html
    assert "Snabblänkar" in html
    assert 'id="banners"' in html  # the slot the outage / reserve banner fills


def test_my_page_shows_own_details_and_customer_relations(client):
    unit = factories.unit(name="Vårdcentralen Väster")
    factories.user("karin", name="Karin Ek", areas=("nutrition",), units=(unit,), hsa_id="SE2321000016-AB12")
    login(client, "karin")
    html = client.get("/min-sida/").get_data(as_text=True)
    assert "Karin Ek" in html and "SE2321000016-AB12" in html
    assert "Vårdcentralen Väster" in html and unit.customer_number in html
    assert "Navigeringsrad" in html  # breadcrumbs


def test_it_staff_never_get_a_patient_tab(client):
    factories.user("it", roles=(Role.IT_STAFF,))
    login(client, "it")
    html = client.get("/").get_data(as_text=True)
    assert ">Patient<" not in html


def test_text_is_escaped_not_rendered_as_html(client, app):
    with app.app_context():
        db.session.add(NewsItem(title="<script>alert(1)</script>", body="x", published_at=datetime(2026, 11, 1)))
        db.session.commit()
    factories.user("karin")
    login(client, "karin")
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
