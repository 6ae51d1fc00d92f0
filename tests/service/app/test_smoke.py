from tests.conftest import login
from tests import factories


def test_health_reports_version_and_reachable_store(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["store"]["reachable"] is True
    assert body["version"]


def test_login_then_start_page_shows_shell(client):
    factories.user("prescriber", areas=("inkontinens",))
    response = login(client, "prescriber")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Min sida" in page and 'lang="sv"' in page
