"""No token, refresh token or client secret appears in clear anywhere we keep or show things: not in any
database row (sessions decoded too), API response, page, admin page or log line; with the database store
and with AWS Secrets Manager (moto, in process)."""

import logging

import boto3
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from moto import mock_aws
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections import secret_store, services
from apps.connections.models import Connection
from apps.connections.secret_store import ARN_PREFIX, secret_read
from apps.connections.tests.oauth_support import CLIENT_SECRETS, signed_in_client, walk_sign_in
from apps.core.testing.factories import UserFactory
from apps.sandbox.oauth import services as authz
from apps.sandbox.oauth.models import OAuthGrant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]

PAT = "ado-pat-LeakTest-Qw3Er5Ty7Ui9Op1As"
SSO_SECRET = "oidc-client-secret-LeakTest-Zx8Cv6Bn4M"


@pytest.fixture(params=["database", "aws_secrets_manager"])
def store(request, monkeypatch):
    if request.param == "database":
        yield "database"
        return
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    secret_store._secrets_manager_client.cache_clear()
    with mock_aws(), override_settings(SECRET_STORE="aws_secrets_manager", SECRETS_MANAGER_REGION="eu-west-1",
                                       SECRETS_MANAGER_ENDPOINT_URL=None):
        boto3.client("secretsmanager", region_name="eu-west-1")
        yield "aws_secrets_manager"
    secret_store._secrets_manager_client.cache_clear()


def _database_text() -> str:
    chunks = []
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*fields):
            chunks.append(repr(row))
    for session in Session.objects.all():
        chunks.append(repr(session.get_decoded()))
    return "\n".join(chunks)


def test_no_secret_in_clear_anywhere(store, oauth_servers, jira_cloud_site, organisation, member, caplog):
    from apps.sso.services import sso_provider_save
    from apps.webhooks.services import webhook_endpoint_create

    caplog.set_level(logging.DEBUG)
    browser = signed_in_client(member)
    walk_sign_in(browser, "atlassian", site="acme")
    oauth_connection = Connection.objects.for_organisation(organisation).get()
    first_access = secret_read(oauth_connection.oauth.access_token_ref)
    first_refresh = secret_read(oauth_connection.oauth.refresh_token_ref)
    authz.grant_expire_access(grant=OAuthGrant.objects.get())
    assert services.connection_test(connection=oauth_connection, actor=member).ok  # refreshes: tokens rotate
    oauth_connection.refresh_from_db()
    access = secret_read(oauth_connection.oauth.access_token_ref)
    refresh = secret_read(oauth_connection.oauth.refresh_token_ref)
    assert {access, refresh}.isdisjoint({first_access, first_refresh})

    token_connection = services.connection_create(organisation=organisation, actor=member, kind="azure_devops",
                                                  name="ADO", base_url="https://dev.azure.com/fabrikam", token=PAT)
    authz.client_register(flavour="oidc", client_id="migrayt-sso", secret=SSO_SECRET, redirect_uris=["/sso/callback/"],
                          scopes=["openid", "email", "profile"])
    provider = sso_provider_save(organisation=organisation, actor=member, kind="oidc", client_id="migrayt-sso",
                                 client_secret=SSO_SECRET, issuer=f"{oauth_servers.url}/sandbox/oauth/oidc/leak-idp")
    endpoint, webhook_secret = webhook_endpoint_create(organisation=organisation, actor=member,
                                                       url="https://hooks.example.com/x", events=["run.finished"])
    secrets = {"first access token": first_access, "first refresh token": first_refresh, "access token": access,
               "refresh token": refresh, "PAT": PAT, "SSO client secret": SSO_SECRET, "webhook secret": webhook_secret,
               "Atlassian client secret": CLIENT_SECRETS["atlassian"], "Entra client secret": CLIENT_SECRETS["entra"]}

    references = [oauth_connection.oauth.access_token_ref, oauth_connection.oauth.refresh_token_ref,
                  token_connection.secret_ciphertext, provider.client_secret_ref, endpoint.secret_ref]
    if store == "aws_secrets_manager":
        assert all(r.startswith(ARN_PREFIX) for r in references)
    else:
        assert not any(r.startswith(ARN_PREFIX) for r in references)

    # Everything a person, an integrator or staff can see.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='t')[1]}")
    shown = [api.get("/api/v1/connections/").content, api.get(f"/api/v1/connections/{oauth_connection.pk}/").content,
             api.post(f"/api/v1/connections/{oauth_connection.pk}/test/").content,
             api.get("/api/v1/webhooks/").content, api.get(f"/api/v1/webhooks/{endpoint.pk}/").content]
    for url in (reverse("connections:list"), reverse("connections:detail", args=[oauth_connection.pk]),
                reverse("connections:edit", args=[oauth_connection.pk]),
                reverse("connections:detail", args=[token_connection.pk]), reverse("sso:settings"),
                reverse("webhooks:list"), reverse("webhooks:detail", args=[endpoint.pk])):
        page = browser.get(url)
        assert page.status_code == 200, url
        shown.append(page.content)
    staff = Client(SERVER_NAME="127.0.0.1")
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    for url in (reverse("admin:connections_connection_changelist"),
                reverse("admin:connections_connection_change", args=[oauth_connection.pk]),
                reverse("admin:connections_connection_change", args=[token_connection.pk])):
        page = staff.get(url)
        assert page.status_code == 200, url
        shown.append(page.content)
    shown_text = b"\n".join(shown).decode()
    database = _database_text()
    logs = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert len(caplog.records) > 5  # the flow did log: requests, tests, deliveries
    for label, value in secrets.items():
        assert value not in database, f"{label} is in the database in clear"
        assert value not in shown_text, f"{label} is shown"
        assert value not in logs, f"{label} is in the logs"
