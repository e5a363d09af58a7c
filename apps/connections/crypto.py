"""Secrets at rest: MultiFernet under the keys in settings.ENCRYPTION_KEYS (MIGRAYT_ENCRYPTION_KEYS),
newest first. The first key encrypts; every key decrypts; `rotate_encryption_keys` re-encrypts under the
first. A token that no configured key opens raises SecretUnreadable: ciphertext is never handed back as if
it were the secret."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """No configured key decrypts this secret (a key was removed or changed too early)."""


def _fernet() -> MultiFernet:
    # Read on every call, so that a key change in the settings (or a test's override) takes effect.
    return MultiFernet([Fernet(key) for key in settings.ENCRYPTION_KEYS])


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError, TypeError):
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with the configured MIGRAYT_ENCRYPTION_KEYS. Restore the "
            "key it was encrypted with, or enter the credentials again."
        ) from None


def secret_rotate(token: str) -> str:
    """The same secret, encrypted under the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except (InvalidToken, ValueError, TypeError):
        raise SecretUnreadable("A stored secret cannot be decrypted with any configured key.") from None
