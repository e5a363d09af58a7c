"""Failures, tagged the way Singer and Airbyte tag them, so callers know what to do next.

* config: the person must change something (URL, credentials, permissions); retrying will not help.
* transient: the other side is busy or unreachable for now; retrying later may work.
* permanent: the request itself is wrong for this server (not found, refused); retrying will not help.

Every error carries a short `code` (stable, for programs) and a `message` in plain words (for people).
Neither ever contains a secret or ticket content.
"""


class ConnectorError(Exception):
    kind = "permanent"
    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None, details=None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.status_code = status_code
        self.details = details or {}

    def __str__(self):
        return self.message


class ConfigError(ConnectorError):
    kind = "config"
    default_code = "config"


class TransientError(ConnectorError):
    kind = "transient"
    default_code = "transient"


class PermanentError(ConnectorError):
    kind = "permanent"
    default_code = "permanent"


class BlockedAddressError(ConfigError):
    """The URL points at an address this deployment must not reach (see `ssrf`)."""

    default_code = "blocked_address"
