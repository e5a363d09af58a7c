import pytest
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.django_db
def test_api_without_credentials_is_refused_in_the_error_shape(api):
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication credentials were not provided.", "extra": {}}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_unknown_token_is_refused(api):
    response = api.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer mgy_not-a-real-token")
    assert response.status_code == 401
    assert "not valid" in response.json()["message"]


@pytest.mark.django_db
def test_unknown_api_path_answers_json_404(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "extra": {}}


@pytest.mark.django_db
def test_validation_errors_name_the_field(api, member, organisation):
    _, raw = api_token_create(organisation=organisation, user=member, name="ci")
    response = api.post("/api/v1/tokens/", {"name": ""}, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("name:")
    assert "name" in body["extra"]["fields"]


@pytest.mark.django_db
def test_application_errors_keep_their_message(api, member, organisation):
    _, raw = api_token_create(organisation=organisation, user=member, name="ci")
    response = api.post(
        "/api/v1/tokens/",
        {"name": "late", "expires_at": "2001-01-01T00:00:00Z"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 400
    assert response.json() == {"message": "The expiry date must be in the future.", "extra": {}}


@pytest.mark.django_db
def test_openapi_schema_documents_the_api(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/tokens/" in schema["paths"]
    assert "ApiToken" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_openapi_schema_validates_without_warnings(tmp_path):
    """The equivalent of `manage.py spectacular --validate --fail-on-warn`: the schema is valid OpenAPI 3
    and drf-spectacular had nothing to guess about any view."""
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert text.startswith("openapi: 3.")
    assert "/api/v1/members/{membership_id}/:" in text


@pytest.mark.django_db
def test_api_docs_are_served_from_our_own_static_files(client, live_server):
    import re
    import urllib.request

    from django.contrib.staticfiles import finders

    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        # Nothing from another host: no CDN is reachable here, and enterprise CSPs forbid them.
        assert not re.match(r"^(https?:)?//", asset), asset
    assert "cdn" not in html.lower()
    # Each asset is one of our static files and the server really serves it.
    for asset in (a for a in assets if a.startswith("/static/")):
        assert finders.find(asset.removeprefix("/static/")), asset
        with urllib.request.urlopen(live_server.url + asset, timeout=10) as served:  # noqa: S310 - our live server
            assert served.status == 200
            assert len(served.read()) > 0
