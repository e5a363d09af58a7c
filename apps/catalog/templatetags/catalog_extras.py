from django import template

from apps.catalog.quote import KIND_LABELS
from apps.catalog.quote import duration_words as _duration_words

register = template.Library()


@register.filter
def duration_words(seconds) -> str:
    return _duration_words(int(seconds or 0))


@register.filter
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)
