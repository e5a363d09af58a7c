"""Structured logs: one JSON object per line, for CloudWatch Logs Insights in production.

Logs may reach people who must not see customers' secrets, so values under keys that look like secrets
are replaced before a record is written, wherever they come from (the message's `extra`, a dict argument).
"""

import json
import logging
import re
from datetime import UTC, datetime

SECRET_KEY_PATTERN = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authori[sz]ation|cookie|credential|private[_-]?key|signature)",
    re.IGNORECASE,
)
# `Bearer mgy_...`, `Basic ...` and our own API tokens, should one be interpolated into a message.
SECRET_VALUE_PATTERN = re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+|mgy_[A-Za-z0-9_-]+", re.IGNORECASE)
REDACTED = "[redacted]"

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


def redact(value, *, depth: int = 0):
    """A copy of `value` with secret-looking keys' values and bearer tokens replaced."""
    if depth > 6:
        return "[nested too deep]"
    if isinstance(value, dict):
        return {
            str(key): REDACTED if SECRET_KEY_PATTERN.search(str(key)) else redact(item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set):
        return [redact(item, depth=depth + 1) for item in value]
    if isinstance(value, str):
        return SECRET_VALUE_PATTERN.sub(REDACTED, value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return SECRET_VALUE_PATTERN.sub(REDACTED, str(value))


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", ...extra fields, "exception"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRIBUTES or key.startswith("_") or key in entry:
                continue
            entry[key] = REDACTED if SECRET_KEY_PATTERN.search(key) else redact(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, default=str, ensure_ascii=False)
