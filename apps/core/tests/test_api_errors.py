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
