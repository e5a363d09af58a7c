"""Connections through the API, the web UI and the admin: scoped to the organisation, validated with clear
answers, audited."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections import services
from apps.connections.models import Connection
from apps.core.models import AuditEvent
from apps.core.testing.factories import UserFactory

SANDBOX_ADO = "http://127.0.0.1:8000/sandbox/ado/fabrikam"


def api_for(user, organisation) -> APIClient:
    client = APIClient()
    _, raw = api_token_create(organisation=organisation, user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(member, organisation):
    return api_for(member, organisation)


@pytest.fixture
def web(member):
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def connection(organisation, member):
    return services.connection_create(organisation=organisation, actor=member, kind="azure_devops", name="Source",
                                      base_url=SANDBOX_ADO, token="pat-1")


def actions(organisation) -> list[str]:
    return list(AuditEvent.objects.for_organisation(organisation).order_by("id").values_list("action", flat=True))


# --- API ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_create_list_get_update_delete(api, organisation, member):
    created = api.post("/api/v1/connections/", {"kind": "azure_devops", "name": "Fabrikam",
                                                "base_url": SANDBOX_ADO + "/", "token": "pat-1"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["base_url"] == SANDBOX_ADO  # normalised: no trailing slash
    assert body["created_by"] == member.email and body["last_test"] is None and body["kind_label"] == "Azure DevOps Services"
    pk = body["id"]
    assert [c["id"] for c in api.get("/api/v1/connections/").json()] == [pk]
    assert api.get("/api/v1/connections/?kind=jira_cloud").json() == []

    before = Connection.objects.for_organisation(organisation).get(pk=pk).secret_ciphertext
    renamed = api.patch(f"/api/v1/connections/{pk}/", {"name": "Fabrikam (source)"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Fabrikam (source)"
    stored = Connection.objects.for_organisation(organisation).get(pk=pk)
    assert stored.secret_ciphertext == before  # no token given: the stored one is kept
    api.patch(f"/api/v1/connections/{pk}/", {"token": "pat-2"}, format="json")
    stored.refresh_from_db()
    assert services.connection_config(stored).token == "pat-2"

    assert api.delete(f"/api/v1/connections/{pk}/").status_code == 204
    assert api.get(f"/api/v1/connections/{pk}/").status_code == 404
    assert actions(organisation)[-4:] == ["connection.created", "connection.updated", "connection.updated",
                                          "connection.deleted"]
    updated = AuditEvent.objects.for_organisation(organisation).filter(action="connection.updated").order_by("id")
    assert [e.data["changed"] for e in updated] == [["name"], ["secret"]]
    assert all(e.actor_kind == "api_token" for e in updated)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"kind": "trello"}, "kind"),
        ({"base_url": "ftp://dev.azure.com/x"}, "https://"),
        ({"base_url": "https://user:pw@dev.azure.com/x"}, "credentials"),
        ({"base_url": "not a url"}, "https://"),
        ({"token": ""}, "token"),
        ({"token": "has spaces in it"}, "does not look like a token"),
        ({"name": "  "}, "name"),
        ({"kind": "jira_cloud", "base_url": "https://acme.atlassian.net"}, "e-mail"),
        ({"kind": "jira_cloud", "email": "not-an-email"}, "email"),
    ],
)
def test_api_refuses_bad_input_with_a_message(api, payload, message):
    data = {"kind": "azure_devops", "name": "X", "base_url": "https://dev.azure.com/fabrikam", "token": "pat", **payload}
    response = api.post("/api/v1/connections/", data, format="json")
    assert response.status_code == 400
    assert message.lower() in response.json()["message"].lower()


@pytest.mark.django_db
def test_api_refuses_a_duplicate_name(api, connection):
    response = api.post("/api/v1/connections/", {"kind": "azure_devops", "name": "Source", "base_url": SANDBOX_ADO,
                                                 "token": "x"}, format="json")
    assert response.status_code == 400 and "already a connection with this name" in response.json()["message"]


@pytest.mark.django_db
@override_settings(ALLOW_PRIVATE_URLS=False)
def test_production_refuses_private_and_metadata_addresses_when_saving(api, fake_dns):
    fake_dns.table["jira.evil.example"] = ["169.254.169.254"]
    for url in ("https://127.0.0.1/jira", "https://2130706433/", "https://[::1]/", "https://jira.evil.example",
                "https://10.0.0.8/"):
        response = api.post("/api/v1/connections/", {"kind": "jira_data_center", "name": url, "base_url": url,
                                                     "token": "x"}, format="json")
        assert response.status_code == 400, url
        assert "cannot be used" in response.json()["message"]
        assert response.json()["extra"]["code"] == "blocked_address"
    plain = api.post("/api/v1/connections/", {"kind": "jira_data_center", "name": "p", "base_url": "http://jira.example",
                                              "token": "x"}, format="json")
    assert plain.status_code == 400 and "https://" in plain.json()["message"]


@pytest.mark.django_db
def test_a_host_that_does_not_resolve_yet_may_be_saved_and_the_test_says_so(api, fake_dns):
    created = api.post("/api/v1/connections/", {"kind": "jira_data_center", "name": "New", "token": "x",
                                                "base_url": "https://jira.not-yet.example"}, format="json")
    assert created.status_code == 201
    tested = api.post(f"/api/v1/connections/{created.json()['id']}/test/").json()
    assert tested["ok"] is False and tested["status"] == "unknown_host"
    assert "could not be found" in tested["message"]
    assert api.get(f"/api/v1/connections/{created.json()['id']}/").json()["last_test"]["status"] == "unknown_host"


@pytest.mark.django_db
def test_another_organisations_connection_is_a_404_everywhere(connection, outsider, other_organisation, organisation):
    api = api_for(outsider, other_organisation)
    base = f"/api/v1/connections/{connection.pk}/"
    assert api.get("/api/v1/connections/").json() == []
    assert api.get(base).status_code == 404
    assert api.patch(base, {"name": "mine"}, format="json").status_code == 404
    assert api.post(base + "test/").status_code == 404
    assert api.delete(base).status_code == 404
    web = Client()
    web.force_login(outsider)
    for name in ("connections:detail", "connections:edit", "connections:delete"):
        assert web.get(reverse(name, args=[connection.pk])).status_code == 404
    assert web.post(reverse("connections:test", args=[connection.pk])).status_code == 404
    assert web.post(reverse("connections:delete", args=[connection.pk])).status_code == 404
    assert Connection.objects.for_organisation(organisation).filter(pk=connection.pk, name="Source").exists()
    assert not AuditEvent.objects.for_organisation(organisation).filter(action="connection.tested").exists()


@pytest.mark.django_db
def test_the_api_needs_authentication(connection):
    assert APIClient().get("/api/v1/connections/").status_code in (401, 403)


@pytest.mark.django_db
def test_changing_the_kind_needs_the_token_again_and_clears_the_last_test(api, connection):
    connection.last_test_status = "ok"
    connection.last_test_message = "fine"
    connection.save()
    base = f"/api/v1/connections/{connection.pk}/"
    refused = api.patch(base, {"kind": "jira_data_center"}, format="json")
    assert refused.status_code == 400 and "token again" in refused.json()["message"]
    changed = api.patch(base, {"kind": "jira_data_center", "token": "dc-pat"}, format="json").json()
    assert changed["kind"] == "jira_data_center" and changed["last_test"] is None


# --- web UI ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_connect_step_lights_up_in_the_navigation(web):
    page = web.get("/").content.decode()
    assert f'href="{reverse("connections:list")}"' in page


@pytest.mark.django_db
def test_web_create_edit_delete(web, organisation):
    page = web.get(reverse("connections:list")).content.decode()
    assert "No connections yet" in page
    response = web.post(reverse("connections:create"), {"kind": "jira_data_center", "name": "DC",
                                                        "base_url": "http://127.0.0.1:8000/sandbox/jira/dc",
                                                        "token": "dc-pat"})
    connection = Connection.objects.for_organisation(organisation).get(name="DC")
    assert response.status_code == 302
    assert response["Location"] == reverse("connections:detail", args=[connection.pk]) + "?test=1"
    detail = web.get(response["Location"]).content.decode()
    assert 'hx-trigger="load"' in detail  # the test starts as the page opens

    edit = web.get(reverse("connections:edit", args=[connection.pk])).content.decode()
    assert "Leave blank to keep the stored personal access token" in edit
    assert 'value="dc-pat"' not in edit
    web.post(reverse("connections:edit", args=[connection.pk]), {"kind": "jira_data_center", "name": "DC 2",
                                                                  "base_url": connection.base_url, "token": ""})
    connection.refresh_from_db()
    assert connection.name == "DC 2" and services.connection_config(connection).token == "dc-pat"

    assert web.post(reverse("connections:delete", args=[connection.pk])).status_code == 302
    assert not Connection.objects.for_organisation(organisation).exists()
    assert actions(organisation)[-3:] == ["connection.created", "connection.updated", "connection.deleted"]


@pytest.mark.django_db
def test_web_form_errors_are_shown_on_the_field(web):
    response = web.post(reverse("connections:create"), {"kind": "jira_cloud", "name": "Cloud",
                                                        "base_url": "https://acme.atlassian.net", "token": "t"})
    assert response.status_code == 200
    assert "needs the e-mail address" in response.content.decode()


@pytest.mark.django_db
def test_web_test_button_answers_in_plain_words_with_htmx_and_without(web, connection, fake_dns):
    connection.base_url = "https://ado.not-there.example"
    connection.save()
    partial = web.post(reverse("connections:test", args=[connection.pk]), HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert "<html" not in html and 'data-status="unknown_host"' in html and "could not be found" in html
    plain = web.post(reverse("connections:test", args=[connection.pk]), follow=True)
    assert "could not be found" in plain.content.decode()


@pytest.mark.django_db
def test_web_forms_need_the_csrf_token(member, connection):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.post(reverse("connections:delete", args=[connection.pk])).status_code == 403
    assert client.post(reverse("connections:create"), {"kind": "azure_devops"}).status_code == 403


@pytest.mark.django_db
def test_pages_need_a_login(connection):
    response = Client().get(reverse("connections:list"))
    assert response.status_code == 302 and "login" in response["Location"]


# --- admin -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_can_list_and_test_connections_but_not_add_or_see_the_token(connection, fake_dns):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/connections/connection/add/").status_code == 403
    change = client.get(f"/admin/connections/connection/{connection.pk}/change/").content.decode()
    assert "secret_ciphertext" not in change and 'name="token"' not in change
    connection.base_url = "https://gone.example"
    connection.save()
    response = client.post("/admin/connections/connection/", {"action": "test_connections",
                                                               "_selected_action": [connection.pk]}, follow=True)
    assert "unknown_host" in response.content.decode()
    event = AuditEvent.unscoped.filter(action="connection.tested").latest("id")
    assert event.actor_kind == "staff" and event.data == {"status": "unknown_host"}


@pytest.mark.django_db
def test_connection_tests_are_throttled_to_a_human_pace(api, connection, fake_dns):
    connection.base_url = "https://gone.example"
    connection.save()
    answers = [api.post(f"/api/v1/connections/{connection.pk}/test/").status_code for _ in range(21)]
    assert answers[:20] == [200] * 20
    assert answers[20] == 429
    refused = api.post(f"/api/v1/connections/{connection.pk}/test/").json()
    assert "throttled" in refused["message"].lower() and refused["extra"]["retry_after_seconds"] > 0


@pytest.mark.django_db
def test_a_bug_in_a_check_is_an_answer_not_a_500(api, connection, monkeypatch):
    from apps.connections.connectors.azure_devops import AzureDevOpsConnector

    def broken(self):
        raise KeyError("unexpected shape")

    monkeypatch.setattr(AzureDevOpsConnector, "check", broken)
    response = api.post(f"/api/v1/connections/{connection.pk}/test/")
    assert response.status_code == 200
    assert response.json()["status"] == "error" and "error on our side" in response.json()["message"]
