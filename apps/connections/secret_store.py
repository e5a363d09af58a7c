"""Secrets behind one interface: connection tokens, OAuth access and refresh tokens, SSO client secrets,
webhook signing secrets.

A secret is saved once and then known by its *reference*, the only thing a model keeps:

* the **database store** (default, `MIGRAYT_SECRET_STORE=database`): the reference is the MultiFernet
  ciphertext itself (crypto.py), so the secret lives encrypted in the row that needs it;
* **AWS Secrets Manager** (`MIGRAYT_SECRET_STORE=aws_secrets_manager`, production): the secret lives in
  Secrets Manager, encrypted under its KMS key, and the reference is the secret's ARN.

Reading goes by the reference, not by the current setting: an ARN is always read from Secrets Manager and
anything else is Fernet ciphertext, so switching stores never strands a saved secret (a secret moves to
the new store the next time it is saved). `rotate_encryption_keys` re-encrypts database references and
leaves ARNs alone (Secrets Manager's keys are rotated by KMS).

Every failure to read is `SecretUnreadable`, said in plain words; the secret itself, and any response
from AWS that could hold it, is never logged.
"""

from __future__ import annotations

import logging
import re
import uuid
from functools import lru_cache

from django.conf import settings
from django.db import models, transaction

from apps.connections.crypto import SecretUnreadable, secret_decrypt, secret_encrypt, secret_rotate

logger = logging.getLogger(__name__)

ARN_PREFIX = "arn:aws:secretsmanager:"
DATABASE = "database"
AWS_SECRETS_MANAGER = "aws_secrets_manager"
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9/_+=.@-]+")

__all__ = [
    "SecretUnreadable",
    "secret_delete",
    "secret_is_external",
    "secret_read",
    "secret_rotate_reference",
    "secret_save",
    "secret_store_name",
]


class DatabaseSecretStore:
    name = DATABASE

    def save(self, *, value: str, label: str, reference: str = "") -> str:
        return secret_encrypt(value)

    def read(self, reference: str) -> str:
        return secret_decrypt(reference)

    def delete(self, reference: str) -> None:
        """Nothing outside the row: the ciphertext goes with it."""

    def rotate(self, reference: str) -> str:
        return secret_rotate(reference)


class AwsSecretsManagerStore:
    """One Secrets Manager secret per stored value, named `<prefix><label>/<random>` and tagged with the
    product, so an operator can find and audit them; encrypted under MIGRAYT_SECRETS_MANAGER_KMS_KEY_ID
    when set (else the account's default key for Secrets Manager)."""

    name = AWS_SECRETS_MANAGER

    def __init__(self, client=None):
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = _secrets_manager_client(settings.SECRETS_MANAGER_REGION, settings.SECRETS_MANAGER_ENDPOINT_URL)
        return self._client

    def save(self, *, value: str, label: str, reference: str = "") -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if reference.startswith(ARN_PREFIX):
                self.client.put_secret_value(SecretId=reference, SecretString=value)
                return reference
            name = f"{settings.SECRETS_MANAGER_PREFIX}{_LABEL_UNSAFE.sub('-', label).strip('/')}/{uuid.uuid4().hex}"
            kwargs = {"Name": name, "SecretString": value, "Tags": [{"Key": "product", "Value": "migrayt"}],
                      "Description": "Migrayt: a credential saved through the product; do not edit by hand."}
            if settings.SECRETS_MANAGER_KMS_KEY_ID:
                kwargs["KmsKeyId"] = settings.SECRETS_MANAGER_KMS_KEY_ID
            return self.client.create_secret(**kwargs)["ARN"]
        except (BotoCoreError, ClientError) as exc:
            # botocore's messages name the operation and the error code, never the SecretString.
            logger.error("secrets manager: could not save a secret (%s)", _aws_error_code(exc))
            raise SecretStoreUnavailable(
                "The secret could not be saved in AWS Secrets Manager (" + _aws_error_code(exc) + "). Nothing was "
                "changed; try again, or ask the operator to check the service's access to Secrets Manager."
            ) from None

    def read(self, reference: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_secret_value(SecretId=reference)["SecretString"]
        except (BotoCoreError, ClientError, KeyError) as exc:
            code = _aws_error_code(exc)
            logger.warning("secrets manager: could not read a secret (%s)", code)
            if code in ("ResourceNotFoundException", "InvalidRequestException"):
                raise SecretUnreadable("The stored secret no longer exists in AWS Secrets Manager (it was deleted "
                                       "or scheduled for deletion). Enter the credentials again.") from None
            raise SecretUnreadable(f"The stored secret could not be read from AWS Secrets Manager ({code}). Check "
                                   "the service's access to Secrets Manager and its KMS key.") from None

    def delete(self, reference: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            # A recovery window rather than a forced delete: an operator can still restore a mistake.
            self.client.delete_secret(SecretId=reference, RecoveryWindowInDays=7)
        except (BotoCoreError, ClientError) as exc:
            logger.warning("secrets manager: could not delete a secret (%s); it stays until removed by hand",
                           _aws_error_code(exc))

    def rotate(self, reference: str) -> str:
        return reference


class SecretStoreUnavailable(Exception):
    """The configured store refused to save; the message is plain words for the person."""


def _aws_error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


@lru_cache(maxsize=4)
def _secrets_manager_client(region: str | None, endpoint_url: str | None):
    import boto3
    from botocore.config import Config

    return boto3.client("secretsmanager", region_name=region, endpoint_url=endpoint_url,
                        config=Config(retries={"max_attempts": 5, "mode": "standard"}))


def _store_for_reference(reference: str):
    return AwsSecretsManagerStore() if reference.startswith(ARN_PREFIX) else DatabaseSecretStore()


def _configured_store():
    return AwsSecretsManagerStore() if settings.SECRET_STORE == AWS_SECRETS_MANAGER else DatabaseSecretStore()


def secret_store_name() -> str:
    return settings.SECRET_STORE


def secret_is_external(reference: str) -> bool:
    return bool(reference) and reference.startswith(ARN_PREFIX)


def secret_save(*, value: str, label: str, reference: str = "") -> str:
    """Save `value` in the configured store and return the reference to keep. `reference`, when given, is
    the secret being replaced: an ARN in the same store is updated in place (same reference back); a
    reference in another store is deleted once the transaction commits. `label` names the secret's owner
    for operators (`org-3/connection-12/token`), never its value."""
    if not value:
        raise ValueError("An empty secret cannot be saved.")
    store = _configured_store()
    same_store = bool(reference) and secret_is_external(reference) == (store.name == AWS_SECRETS_MANAGER)
    new_reference = store.save(value=value, label=label, reference=reference if same_store else "")
    if reference and new_reference != reference:
        secret_delete(reference)
    return new_reference


def secret_read(reference: str) -> str:
    """The secret behind a reference. Raises SecretUnreadable, in plain words, when it cannot be read."""
    if not reference:
        raise SecretUnreadable("No secret is stored here. Enter the credentials again.")
    return _store_for_reference(reference).read(reference)


def secret_delete(reference: str) -> None:
    """Forget a secret. Outside the database this happens after the surrounding transaction commits, so a
    rolled-back change never loses a secret that is still referenced."""
    if secret_is_external(reference):
        store = AwsSecretsManagerStore()
        transaction.on_commit(lambda: store.delete(reference))


def secret_rotate_reference(reference: str) -> str:
    """For `rotate_encryption_keys`: the same secret under the newest Fernet key (database references), or
    the reference unchanged (Secrets Manager). Raises SecretUnreadable when no key opens it."""
    return _store_for_reference(reference).rotate(reference)


class SecretReferenceField(models.TextField):
    """A model field holding a secret's reference (never the secret). `rotate_encryption_keys` finds every
    field of this type in every model, so a new kind of secret is rotated without touching the command."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)


def secret_reference_fields() -> list[tuple[type[models.Model], str]]:
    from django.apps import apps

    return [(model, field.name) for model in apps.get_models() for field in model._meta.get_fields()
            if isinstance(field, SecretReferenceField)]
