"""Secrets are encrypted at rest, a wrong key raises, rotation moves every secret to the newest key, and
the secret appears nowhere: API responses, rendered pages, admin pages, logs, audit rows."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections import services
from apps.connections.crypto import SecretUnreadable, secret_decrypt, secret_encrypt
from apps.connections.models import Connection
from apps.core.models import AuditEvent
from apps.core.testing.factories import UserFactory

SECRET = "ado-pat-Zq7xK2mN9vB4cR8tY1wE5uI3oP6aS0dF"
NEW_SECRET = "ado-pat-NEW-Lk8jH3gF6dS1aZ9xC4vB7nM2qW5eR0t"
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_encrypt_decrypt_round_trip_and_ciphertext_differs():
    token = secret_encrypt(SECRET)
    assert SECRET not in token
    assert secret_decrypt(token) == SECRET


def test_a_wrong_key_raises_rather_than_returning_ciphertext():
    with override_settings(ENCRYPTION_KEYS=[KEY_A]):
        token = secret_encrypt(SECRET)
    with override_settings(ENCRYPTION_KEYS=[KEY_B]), pytest.raises(SecretUnreadable, match="MIGRAYT_ENCRYPTION_KEYS"):
        secret_decrypt(token)
    with pytest.raises(SecretUnreadable):
        secret_decrypt("not even a token")


@pytest.mark.django_db
def test_rotation_moves_every_secret_to_the_newest_key(organisation, member, other_organisation, outsider):
    with override_settings(ENCRYPTION_KEYS=[KEY_A]):
        ours = services.connection_create(organisation=organisation, actor=member, kind="azure_devops",
                                          name="ADO", base_url="http://127.0.0.1:8000/sandbox/ado/fabrikam",
                                          token=SECRET)
        theirs = services.connection_create(organisation=other_organisation, actor=outsider, kind="jira_cloud",
                                            name="Jira", base_url="http://127.0.0.1:8000/sandbox/jira/acme",
                                            email="a@b.test", token=NEW_SECRET)
    before = {c.pk: c.secret_ciphertext for c in Connection.unscoped.all()}
    with override_settings(ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    # The old key is gone: everything still decrypts under the new key alone.
    with override_settings(ENCRYPTION_KEYS=[KEY_B]):
        for connection, secret in ((ours, SECRET), (theirs, NEW_SECRET)):
            connection.refresh_from_db()
            assert connection.secret_ciphertext != before[connection.pk]
            assert services.connection_config(connection).token == secret
    with override_settings(ENCRYPTION_KEYS=[KEY_A]), pytest.raises(SecretUnreadable):
        services.connection_config(ours)


@pytest.mark.django_db
def test_rotation_reports_secrets_no_key_opens_and_leaves_them_alone(organisation, member):
    with override_settings(ENCRYPTION_KEYS=[KEY_A]):
        connection = services.connection_create(organisation=organisation, actor=member, kind="azure_devops",
                                                name="ADO", base_url="https://dev.azure.com/fabrikam", token=SECRET)
    stored = connection.secret_ciphertext
    with override_settings(ENCRYPTION_KEYS=[KEY_B]), pytest.raises(CommandError, match=str(connection.pk)):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    connection.refresh_from_db()
    assert connection.secret_ciphertext == stored


@pytest.mark.django_db
def test_a_test_with_an_unreadable_secret_answers_in_plain_words(organisation, member):
    with override_settings(ENCRYPTION_KEYS=[KEY_A]):
        connection = services.connection_create(organisation=organisation, actor=member, kind="azure_devops",
                                                name="ADO", base_url="https://dev.azure.com/fabrikam", token=SECRET)
    with override_settings(ENCRYPTION_KEYS=[KEY_B]):
        result = services.connection_test(connection=connection, actor=member)
    assert result.status == "secret_unreadable"
    assert "enter the credentials again" in result.message


def _settings_run(env: dict, code: str = "import migrayt.settings") -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MIGRAYT_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env}, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[3], timeout=60,
    )


def _settings_error(env: dict) -> str:
    return _settings_run(env).stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "True"), ({"MIGRAYT_ENV": "production"}, "False"), ({"MIGRAYT_ALLOW_PRIVATE_URLS": "false"}, "False")],
)
def test_private_addresses_are_allowed_only_outside_production(tmp_path, env, expected):
    production = {"DJANGO_SECRET_KEY": "x" * 60, "DJANGO_ALLOWED_HOSTS": "migrayt.example",
                  "MIGRAYT_ENCRYPTION_KEYS": KEY_A}
    result = _settings_run({"MIGRAYT_VAR_DIR": str(tmp_path), **production, **env},
                           "import migrayt.settings as s; print(s.ALLOW_PRIVATE_URLS)")
    assert result.stdout.strip() == expected, result.stderr


def test_a_malformed_key_stops_start_up_naming_the_variable(tmp_path):
    stderr = _settings_error({"MIGRAYT_VAR_DIR": str(tmp_path), "MIGRAYT_ENCRYPTION_KEYS": f"{KEY_A},not-a-key"})
    assert "MIGRAYT_ENCRYPTION_KEYS: key number 2 is not a Fernet key" in stderr
    assert KEY_A not in stderr


def test_production_requires_the_keys(tmp_path):
    stderr = _settings_error({
        "MIGRAYT_VAR_DIR": str(tmp_path), "MIGRAYT_ENV": "production", "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "migrayt.example",
    })
    assert "MIGRAYT_ENCRYPTION_KEYS is required in production" in stderr


def test_development_makes_one_key_once_under_var(tmp_path):
    _settings_error({"MIGRAYT_VAR_DIR": str(tmp_path)})
    key = (tmp_path / "encryption_key").read_text()
    Fernet(key)  # a valid key
    _settings_error({"MIGRAYT_VAR_DIR": str(tmp_path)})
    assert (tmp_path / "encryption_key").read_text() == key


# --- the secret appears nowhere -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_secret_never_appears_in_api_html_admin_logs_or_audit(organisation, member, caplog, local_server):
    caplog.set_level(logging.DEBUG)
    api = APIClient()
    _, raw = api_token_create(organisation=organisation, user=member, name="it")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    bodies = []

    created = api.post("/api/v1/connections/", {
        "kind": "jira_cloud", "name": "Jira", "base_url": local_server.url("/jira"), "email": "me@example.test",
        "token": SECRET,
    }, format="json")
    assert created.status_code == 201, created.content
    assert "token" not in created.json() and created.json()["has_secret"] is True
    pk = created.json()["id"]
    bodies.append(created.content.decode())
    bodies.append(api.get("/api/v1/connections/").content.decode())
    bodies.append(api.get(f"/api/v1/connections/{pk}/").content.decode())
    bodies.append(api.patch(f"/api/v1/connections/{pk}/", {"name": "Jira 2"}, format="json").content.decode())
    tested = api.post(f"/api/v1/connections/{pk}/test/")
    assert tested.status_code == 200
    bodies.append(tested.content.decode())
    # A validation error must not echo the secret either.
    bad = api.post("/api/v1/connections/", {"kind": "jira_cloud", "name": "X", "base_url": "ftp://x",
                                            "email": "me@example.test", "token": SECRET}, format="json")
    assert bad.status_code == 400
    bodies.append(bad.content.decode())
    bodies.append(api.get("/api/schema/").content.decode())

    web = Client()
    web.force_login(member)
    for name in ("connections:list", "connections:create"):
        bodies.append(web.get(reverse(name)).content.decode())
    for name in ("connections:detail", "connections:edit", "connections:delete"):
        response = web.get(reverse(name, args=[pk]))
        assert response.status_code == 200
        bodies.append(response.content.decode())
    bodies.append(web.post(reverse("connections:test", args=[pk]), HTTP_HX_REQUEST="true").content.decode())
    # The form comes back with an error: the token just typed is not put back into the page.
    rejected = web.post(reverse("connections:create"), {"kind": "azure_devops", "name": "Bad",
                                                        "base_url": "gopher://x", "token": NEW_SECRET})
    assert rejected.status_code == 200 and "https://" in rejected.content.decode()
    bodies.append(rejected.content.decode())

    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    for url in ("/admin/connections/connection/", f"/admin/connections/connection/{pk}/change/",
                "/admin/core/auditevent/"):
        response = admin.get(url)
        assert response.status_code == 200, url
        bodies.append(response.content.decode())

    connection = Connection.objects.for_organisation(organisation).get(pk=pk)
    audit = json.dumps(list(AuditEvent.objects.for_organisation(organisation).values("action", "data")))
    assert {"connection.created", "connection.updated", "connection.tested"} <= {
        e["action"] for e in AuditEvent.objects.for_organisation(organisation).values("action")}
    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for where, text in [*((f"response {i}", b) for i, b in enumerate(bodies)), ("audit", audit), ("logs", logs)]:
        assert SECRET not in text, where
        assert NEW_SECRET not in text, where
        assert connection.secret_ciphertext not in text, where
    # What the local server received is the only place the secret went (as Basic auth).
    assert any("Authorization" in s.headers for s in local_server.seen)
