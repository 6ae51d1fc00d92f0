"""No response that may carry personal data is stored by a browser or proxy: Cache-Control: no-store."""
from __future__ import annotations

from core.auth.roles import Role
from tests import factories
from tests.conftest import api_token, login

# Public, personal-data-free responses with caching of their own.
OWN_CACHING = {"status.json_status"}


def _is_static(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


def _concrete_path(rule, values: dict[str, str]) -> str:
    return rule.build({arg: values.get(arg, "1") for arg in rule.arguments})[1]


def test_every_get_route_answers_no_store_except_static_files_and_the_public_status_json(app, client):
    factories.user("alla", roles=tuple(Role), areas=("inkontinens",))
    patient = factories.patient()
    login(client, "alla")
    headers = {"Authorization": f"Bearer {api_token(client, 'alla')}"}
    values = {"patient_id": str(patient.id), "filename": "css/app.css"}
    seen_ok = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()):
            continue
        path = _concrete_path(rule, values)
        response = client.get(path, headers=headers if path.startswith("/api/") else {})
        cache_control = response.headers.get("Cache-Control", "")
        response.close()  # a static file is streamed from an open file
        if _is_static(rule.endpoint):
            assert "no-store" not in cache_control, path
        elif rule.endpoint in OWN_CACHING:
            assert "max-age" in cache_control, path
        else:
            assert "no-store" in cache_control, (path, response.status_code, cache_control)
        if response.status_code == 200:
            seen_ok.add(response.mimetype)
    # The walk reached real answers of each kind that carries personal data.
    assert {"application/json", "application/pdf", "text/csv", "text/html"} <= seen_ok


def test_api_json_pdf_and_csv_downloads_are_not_stored(client):
    factories.user("alla", roles=tuple(Role), areas=("inkontinens",))
    patient = factories.patient()
    headers = {"Authorization": f"Bearer {api_token(client, 'alla')}"}
    overview = client.get(f"/api/v1/patients/{patient.id}", headers=headers)
    pdf = client.get(f"/api/v1/patients/{patient.id}/active-rows.pdf", headers=headers)
    assert (overview.status_code, overview.headers["Cache-Control"]) == (200, "no-store")
    assert (pdf.mimetype, pdf.headers["Cache-Control"]) == ("application/pdf", "no-store")
    login(client, "alla")
    csv = client.get("/admin/behorighet/anvandare-per-enhet.csv")
    assert csv.mimetype == "text/csv"
    assert "no-store" in csv.headers["Cache-Control"]
    assert "no-store" in client.get("/api/v1/nothing-here", headers=headers).headers["Cache-Control"]
