"""What may leave for an outside model, and nothing else.

Only schema metadata is ever sent: the names and types of types, fields and statuses, and the allowed
values of fields. Even those are customer-written text, so every string is scrubbed of what looks like
personal data or a secret before it goes, unless the organisation consented to that category. The caller
gets the exact payload (to show the person before sending), what was removed (by category and place,
never the value) and a hash of what was sent, for the audit log.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum


class Category(StrEnum):
    EMAIL = "email"
    SECRET = "secret"  # noqa: S105 - a category name. Tokens, keys, passwords in URLs: never sent
    URL = "url"
    PHONE = "phone"
    PERSON = "person"  # people's names and accounts: not schema, never part of the payload


CONSENTABLE = (Category.EMAIL, Category.URL, Category.PHONE)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_URL_WITH_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@]+):([^/\s@]+)@")
_URL = re.compile(r"(?i)\b(?:https?|ftp)://[^\s\"'<>]+")
_SECRETS = [
    re.compile(r"\bmgy_[A-Za-z0-9_-]{16,}"),  # our own API tokens
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access keys
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),  # GitHub tokens
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}\b"),  # OpenAI-style keys
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}\b"),  # Stripe keys
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWTs
    re.compile(r"\bATATT[A-Za-z0-9_=-]{20,}"),  # Atlassian API tokens
    re.compile(r"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key)\s*[:=]\s*\S+"),
    re.compile(r"\b[A-Za-z0-9]{52}\b"),  # Azure DevOps personal access tokens (52 characters)
    re.compile(r"\b[a-f0-9]{32,}\b"),  # long hex strings: keys and hashes
]
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ()-]{7,}\d(?!\w)")


@dataclass
class Removal:
    category: Category
    path: str  # where in the payload, e.g. "fields[3].allowed_values[2]"


@dataclass
class SanitisedPayload:
    payload: dict
    removals: list[Removal] = field(default_factory=list)

    @property
    def text(self) -> str:
        return json.dumps(self.payload, sort_keys=True, ensure_ascii=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def removal_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.removals:
            counts[str(r.category)] = counts.get(str(r.category), 0) + 1
        return counts


def scrub(text: str, *, consent: frozenset[Category] = frozenset()) -> tuple[str, list[Category]]:
    """`text` with what may not leave replaced by a placeholder, and the categories that were found."""
    found: list[Category] = []

    def sub(pattern, placeholder, category, value):
        new, count = pattern.subn(placeholder, value)
        if count:
            found.extend([category] * count)
        return new

    text = sub(_URL_WITH_CREDENTIALS, r"\1REDACTED@", Category.SECRET, text)
    for pattern in _SECRETS:
        text = sub(pattern, "[secret removed]", Category.SECRET, text)
    # Links before e-mail addresses: "user@host" inside a link is part of the link.
    if Category.URL not in consent:
        text = sub(_URL, "[link removed]", Category.URL, text)
    if Category.EMAIL not in consent:
        text = sub(_EMAIL, "[e-mail removed]", Category.EMAIL, text)
    if Category.PHONE not in consent:
        text = sub(_PHONE, "[phone removed]", Category.PHONE, text)
    return text, found


def sanitise(value, *, consent: frozenset[Category] = frozenset(), path: str = "") -> SanitisedPayload:
    """Scrub every string in a JSON-like structure."""
    removals: list[Removal] = []

    def walk(node, where):
        if isinstance(node, str):
            clean, found = scrub(node, consent=consent)
            removals.extend(Removal(c, where) for c in found)
            return clean
        if isinstance(node, dict):
            return {k: walk(v, f"{where}.{k}" if where else k) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if node is None or isinstance(node, bool | int | float):
            return node
        raise TypeError(f"Only JSON values can be sent, not {type(node).__name__} at {where or 'the top'}.")

    return SanitisedPayload(walk(value, path), removals)
