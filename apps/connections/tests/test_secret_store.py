"""The secret store: the encrypted database field by default, AWS Secrets Manager (moto, in process: no
AWS host is called) in production, one interface for both, and key rotation that keeps working."""

import io

import boto3
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import override_settings
from moto import mock_aws

from apps.connections import secret_store, services
from apps.connections.models import Connection
from apps.connections.secret_store import (
    ARN_PREFIX,
    SecretUnreadable,
    secret_read,
    secret_reference_fields,
    secret_save,
)

TOKEN = "ado-pat-Secret-Store-Zq7xK2mN9vB4cR8tY1wE5u"
NEW_TOKEN = "ado-pat-Secret-Store-NEW-Lk8jH3gF6dS1aZ9x"
URL = "https://dev.azure.com/fabrikam"
REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    secret_store._secrets_manager_client.cache_clear()
    with mock_aws(), override_settings(SECRET_STORE="aws_secrets_manager", SECRETS_MANAGER_REGION=REGION,
                                       SECRETS_MANAGER_ENDPOINT_URL=None, SECRETS_MANAGER_PREFIX="migrayt-test/"):
        yield boto3.client("secretsmanager", region_name=REGION)
    secret_store._secrets_manager_client.cache_clear()


def _create(organisation, member, token=TOKEN, name="ADO"):
    return services.connection_create(organisation=organisation, actor=member, kind="azure_devops", name=name,
                                      base_url=URL, token=token)


@pytest.mark.django_db
def test_database_store_keeps_ciphertext_only(organisation, member):
    connection = _create(organisation, member)
    assert not connection.secret_ciphertext.startswith(ARN_PREFIX)
    assert TOKEN not in connection.secret_ciphertext
    assert services.connection_config(connection).token == TOKEN


@pytest.mark.django_db(transaction=True)
def test_secrets_manager_keeps_the_secret_and_the_row_only_its_arn(aws, organisation, member):
    connection = _create(organisation, member)
    stored = Connection.unscoped.get(pk=connection.pk).secret_ciphertext
    assert stored.startswith(f"{ARN_PREFIX}{REGION}:")
    assert TOKEN not in stored
    described = aws.describe_secret(SecretId=stored)
    assert described["Name"].startswith(f"migrayt-test/org-{organisation.pk}/connection-token/")
    assert {"Key": "product", "Value": "migrayt"} in described["Tags"]
    assert aws.get_secret_value(SecretId=stored)["SecretString"] == TOKEN
    assert services.connection_config(connection).token == TOKEN

    # A new token replaces the value in place: same ARN, new secret.
    services.connection_update(connection=connection, actor=member, token=NEW_TOKEN)
    connection.refresh_from_db()
    assert connection.secret_ciphertext == stored
    assert services.connection_config(connection).token == NEW_TOKEN

    # Deleting the connection schedules the secret's deletion (after commit, with a recovery window).
    services.connection_delete(connection=connection, actor=member)
    assert "DeletedDate" in aws.describe_secret(SecretId=stored)
    with pytest.raises(SecretUnreadable, match="no longer exists"):
        secret_read(stored)


@pytest.mark.django_db(transaction=True)
def test_switching_stores_never_strands_a_secret(aws, organisation, member):
    with override_settings(SECRET_STORE="database"):
        connection = _create(organisation, member)
    old = connection.secret_ciphertext
    assert not old.startswith(ARN_PREFIX)
    # Now in production mode: the old database secret is still read ...
    assert services.connection_config(connection).token == TOKEN
    # ... and moves to Secrets Manager the next time it is saved.
    services.connection_update(connection=connection, actor=member, token=NEW_TOKEN)
    connection.refresh_from_db()
    assert connection.secret_ciphertext.startswith(ARN_PREFIX)
    assert services.connection_config(connection).token == NEW_TOKEN
    # And back: saving under the database store deletes the ARN's secret once committed.
    arn = connection.secret_ciphertext
    with override_settings(SECRET_STORE="database"):
        services.connection_update(connection=connection, actor=member, token=TOKEN)
    connection.refresh_from_db()
    assert not connection.secret_ciphertext.startswith(ARN_PREFIX)
    assert "DeletedDate" in aws.describe_secret(SecretId=arn)


@pytest.mark.django_db(transaction=True)
def test_rotation_rotates_database_secrets_and_leaves_arns_alone(aws, organisation, member):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(ENCRYPTION_KEYS=[key_a]):
        in_aws = _create(organisation, member, name="In AWS")
        with override_settings(SECRET_STORE="database"):
            in_db = _create(organisation, member, token=NEW_TOKEN, name="In DB")
    arn, ciphertext = in_aws.secret_ciphertext, in_db.secret_ciphertext
    out = io.StringIO()
    with override_settings(ENCRYPTION_KEYS=[key_b, key_a]):
        call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 1 secret(s)" in out.getvalue()
    in_aws.refresh_from_db()
    in_db.refresh_from_db()
    assert in_aws.secret_ciphertext == arn and in_db.secret_ciphertext != ciphertext
    with override_settings(ENCRYPTION_KEYS=[key_b]):
        assert services.connection_config(in_db).token == NEW_TOKEN
        assert services.connection_config(in_aws).token == TOKEN


def test_every_secret_reference_field_is_known_to_rotation():
    fields = {f"{model._meta.label_lower}.{name}" for model, name in secret_reference_fields()}
    assert {"connections.connection.secret_ciphertext", "connections.oauthcredential.access_token_ref",
            "connections.oauthcredential.refresh_token_ref"} <= fields


@pytest.mark.django_db(transaction=True)
def test_secrets_manager_refusing_a_save_is_said_in_plain_words(aws, organisation, member, monkeypatch):
    from botocore.exceptions import ClientError

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "CreateSecret")

    monkeypatch.setattr(secret_store.AwsSecretsManagerStore().client, "create_secret", refuse)
    from apps.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="AccessDeniedException"):
        _create(organisation, member)
    assert not Connection.objects.for_organisation(organisation).exists()


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError):
        secret_save(value="", label="x")
