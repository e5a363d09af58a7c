"""Layer 2: matching by meaning, with the local embedding model.

Names are compared as a person would read them ("Custom.CustomerImpact" reads "customer impact"). A match
by meaning is never certain enough to accept unseen: its confidence stays below AUTO_ACCEPT unless the two
names are the same words.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from apps.mappings.drafting.knowledge import normalise
from apps.mappings.drafting.proposals import AUTO_ACCEPT

MIN_SIMILARITY = 0.62
_NOISE_WORDS = {"custom", "microsoft", "vsts", "common", "system", "field", "cf"}


def reading(text: str) -> str:
    words = [w for w in normalise(text).split() if w not in _NOISE_WORDS]
    return " ".join(words) or normalise(text)


@dataclass
class Match:
    left: str
    right: str
    similarity: float
    same_words: bool

    @property
    def confidence(self) -> float:
        if self.same_words:
            return 0.92
        # Map [MIN_SIMILARITY, 1] onto [0.5, just under AUTO_ACCEPT].
        span = (self.similarity - MIN_SIMILARITY) / (1 - MIN_SIMILARITY)
        return round(min(AUTO_ACCEPT - 0.01, 0.5 + 0.34 * max(span, 0.0)), 3)


def match_by_meaning(
    left: Sequence[tuple[str, str]],
    right: Sequence[tuple[str, str]],
    *,
    compatible: Callable[[str, str], bool] = lambda a, b: True,
    prefer: Callable[[str, str], float] = lambda a, b: 0.0,
    min_similarity: float = MIN_SIMILARITY,
    similarity: Callable[[list[str], list[str]], "object"] | None = None,
) -> dict[str, Match]:
    """Pair left ids with right ids, each used once, best pairs first. `left`/`right` are (id, text)."""
    if not left or not right:
        return {}
    left_text = [reading(t) for _, t in left]
    right_text = [reading(t) for _, t in right]
    if similarity is None:
        from apps.mappings.drafting.embeddings import similarity_matrix

        similarity = similarity_matrix
    scores = similarity(left_text, right_text)
    candidates = []
    for i, (lid, _) in enumerate(left):
        for j, (rid, _) in enumerate(right):
            same = left_text[i] == right_text[j]
            score = 1.0 if same else float(scores[i][j])
            if score >= min_similarity and compatible(lid, rid):
                candidates.append((score + prefer(lid, rid), score, same, i, j))
    candidates.sort(key=lambda c: (-c[0], c[3], c[4]))
    used_left, used_right, matches = set(), set(), {}
    for _, score, same, i, j in candidates:
        if i in used_left or j in used_right:
            continue
        used_left.add(i)
        used_right.add(j)
        matches[left[i][0]] = Match(left[i][0], right[j][0], score, same)
    return matches
