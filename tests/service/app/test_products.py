"""The Produkt tab and GET /api/v1/articles: text, advanced search, images, eco-labels, saved searches."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.auth.roles import Role
from tests import factories
from tests.conftest import api_token, login


@pytest.fixture
def catalogue(ctx):
    factories.article(number="310001", name="Inkontinensskydd Slip Maxi", supplier="Nordvård AB",
                      supplier_article_number="NV-77", product_group="Skydd", subgroup="Slip",
                      eco_label="Svanen", image="slip.svg")
    factories.article(number="310002", name="Inkontinensskydd Inlägg Normal", supplier="Vila Care",
                      supplier_article_number="VC-12", product_group="Skydd", subgroup="Inlägg")
    factories.article(area="stomi", number="530001", name="Stomipåse Öppen Midi", supplier="Nordvård AB",
                      supplier_article_number="NV-99", product_group="Stomi", subgroup="Påse")
    factories.user("kundtjanst", roles=(Role.CUSTOMER_SERVICE,))


def test_search_by_name_part_or_number_shows_images_when_ticked_and_eco_label(client, catalogue):
    login(client, "kundtjanst")
    by_name = client.get("/produkt/?sok=1&text=slip").get_data(as_text=True)
    assert "Inkontinensskydd Slip Maxi" in by_name and "Inlägg Normal" not in by_name
    assert "Visa bild" in by_name and "/static/articles/slip.svg" not in by_name  # the box, not yet ticked
    assert 'title="Miljömärkt: Svanen"' in by_name
    # Seed 000: "Bocka i ruta Visa bild så visas bilder (om bilder finns inlagda)."
    with_images = client.get("/produkt/?sok=1&text=slip&bild=1").get_data(as_text=True)
    assert '<img src="/static/articles/slip.svg" alt="Bild på Inkontinensskydd Slip Maxi"' in with_images
    by_number = client.get("/produkt/?sok=1&text=3100").get_data(as_text=True)
    assert "Slip Maxi" in by_number and "Inlägg Normal" in by_number and "Stomipåse" not in by_number


def test_advanced_search_by_supplier_supplier_number_group_and_subgroup(client, catalogue):
    login(client, "kundtjanst")
    html = client.get("/produkt/?sok=1&supplier=Nordvård+AB&product_group=Skydd").get_data(as_text=True)
    assert "Slip Maxi" in html and "Stomipåse" not in html and "Inlägg Normal" not in html
    html = client.get("/produkt/?sok=1&supplier_article_number=VC-").get_data(as_text=True)
    assert "Inlägg Normal" in html and "Slip Maxi" not in html
    html = client.get("/produkt/?sok=1&subgroup=Påse").get_data(as_text=True)
    assert "Stomipåse" in html and "Slip Maxi" not in html


def test_like_wildcards_in_the_text_are_taken_literally(client, catalogue):
    login(client, "kundtjanst")
    html = client.get("/produkt/?sok=1&text=%25").get_data(as_text=True)
    assert "Inga artiklar matchar" in html


def test_over_long_text_gets_a_message(client, catalogue):
    login(client, "kundtjanst")
    response = client.get("/produkt/?sok=1&text=" + "x" * 101)
    assert response.status_code == 400 and "Högst 100 tecken." in response.get_data(as_text=True)


def test_api_article_search_uses_the_issue_s_argument_names(client, catalogue):
    headers = {"Authorization": f"Bearer {api_token(client, 'kundtjanst')}"}
    body = client.get("/api/v1/articles?q=inkontinens&supplier=Vila", headers=headers).get_json()
    assert [a["number"] for a in body["articles"]] == ["310002"]
    body = client.get("/api/v1/articles?supplier_article_no=NV&group=Stomi", headers=headers).get_json()
    assert [a["number"] for a in body["articles"]] == ["530001"]
    bad = client.get("/api/v1/articles?colour=red", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "colour"


def test_it_staff_have_no_product_tab(client, catalogue):
    factories.user("it", roles=(Role.IT_STAFF,))
    login(client, "it")
    assert client.get("/produkt/").status_code == 403


def test_prices_are_written_the_swedish_way(client, catalogue):
    factories.article(number="310099", name="Inkontinensskydd Dyr", unit_price=Decimal("2580.5"))
    login(client, "kundtjanst")
    html = client.get("/produkt/?sok=1&text=dyr").get_data(as_text=True)
    assert "2\u00a0580,50\u00a0kr" in html and "2580.50" not in html


def test_subgroup_choices_follow_the_chosen_product_group(client, catalogue):
    login(client, "kundtjanst")
    html = client.get("/produkt/?product_group=Stomi").get_data(as_text=True)
    offered = html[html.index('id="subgroup"'):html.index("</select>", html.index('id="subgroup"'))]
    assert '<option data-group="Stomi">Påse</option>' in offered and "Inlägg" not in offered
    everything = client.get("/produkt/").get_data(as_text=True)
    assert '<option data-group="Skydd">Inlägg</option>' in everything  # no group chosen: all of them
