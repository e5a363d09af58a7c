"""Reading configuration from the environment.

Every difference between the demo, CI and production comes from environment variables. A value that is
present but malformed stops start-up with a message naming the variable; it is never silently replaced
by a default.
"""

import os
from urllib.parse import urlparse


class ConfigurationError(Exception):
    pass


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ConfigurationError(f"{name} is required but not set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false (got {value!r}).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number (got {value!r}).") from None
    if minimum is not None and number < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum} (got {number}).")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default)
    return [part.strip() for part in value.split(",") if part.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)} (got {value!r}).")
    return value


def env_url(name: str, default: str | None, schemes: tuple[str, ...]) -> str | None:
    value = env_str(name, default)
    if value is None:
        return None
    scheme = urlparse(value).scheme
    if scheme not in schemes:
        raise ConfigurationError(
            f"{name} must start with one of {', '.join(s + '://' for s in schemes)} (got scheme {scheme!r})."
        )
    return value
