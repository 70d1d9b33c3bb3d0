"""How close an enrichment's text is to a known answer: for tests and benchmarks.

Word error rate is counted on normalised words (lower case, no punctuation, hyphens
as spaces): "Blue notebook." and "blue notebook" are the same words. No language
model and no spelling dictionary: "note book" still counts against "notebook".
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^a-z0-9' ]+")


def words(text: str) -> list[str]:
    """Return the normalised words of ``text``."""
    return _NOT_WORD.sub(" ", text.lower().replace("-", " ")).split()


def word_edits(reference: str, hypothesis: str) -> int:
    """Return the word-level Levenshtein distance (substitutions, insertions, deletions)."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(
                row[j] + 1, row[j - 1] + 1, diagonal + (r != h)
            )
    return row[-1]


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Return the WER over ``(reference, hypothesis)`` pairs: edits / reference words."""
    total = sum(len(words(ref)) for ref, _ in pairs)
    return sum(word_edits(ref, hyp) for ref, hyp in pairs) / total if total else 0.0
