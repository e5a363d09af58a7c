"""What every rich-text converter returns, and the callbacks the engine passes in.

Converters never raise on bad input: whatever cannot be represented is turned into the nearest
readable form and reported as a `ConversionWarning`, so the preview can show what will change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ConversionWarning:
    """One kind of loss, e.g. code="table_flattened", message="a nested table was flattened into text (2 times)".

    Messages name kinds of content, never the content itself (no text, names or addresses of the
    ticket), so a preview can keep them without keeping ticket data.
    """

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Conversion(Generic[T]):
    value: T
    warnings: tuple[ConversionWarning, ...] = ()


@dataclass
class WarningLog:
    """Collects warnings during one conversion; the same warning is reported once with a count."""

    _counts: Counter = field(default_factory=Counter)

    def add(self, code: str, message: str) -> None:
        self._counts[(code, message)] += 1

    def result(self) -> tuple[ConversionWarning, ...]:
        warnings = []
        for (code, message), count in self._counts.items():
            suffix = f" ({count} times)" if count > 1 else ""
            warnings.append(ConversionWarning(code=code, message=message + suffix))
        return tuple(warnings)


@dataclass(frozen=True)
class ImageTarget:
    """Where an image of the source lives in the destination.

    For ADF give `media_id` (+ `collection`) of an uploaded attachment, or `url` for an external image.
    For Jira wiki markup give `filename` (an attachment of the issue) or `url`.
    For HTML (towards Azure DevOps) give `url`.
    """

    media_id: str | None = None
    collection: str = ""
    url: str | None = None
    filename: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class PersonTarget:
    """A person in the destination: Jira accountId (Cloud), username (Data Center) or ADO identity id. An
    empty `id` names a known person with no account to mention: the mention is shown as "@display_name"
    text (a Data Center "[~user]" shows the person's name, as Jira does, not the user name)."""

    id: str
    display_name: str


# (source image URL or attachment reference, alt text) -> target, or None to keep the image as a link.
ImageResolver = Callable[[str, str], "ImageTarget | None"]
# (source person id, display name) -> target, or None to keep the mention as plain text.
PersonResolver = Callable[[str, str], "PersonTarget | None"]
