import pytest

from loom_dagster.enrichment import scoring


def test_words_ignore_case_and_punctuation_and_split_hyphens():
    assert scoring.words("The blue-green Notebook, isn't it?") == [
        "the",
        "blue",
        "green",
        "notebook",
        "isn't",
        "it",
    ]


@pytest.mark.parametrize(
    ("ref", "hyp", "edits"),
    [
        ("the heron waited by the canal", "The heron waited by the canal.", 0),
        ("the heron waited by the canal", "the hair and waded by the canal", 3),
        ("the blue notebook", "the blue note book", 2),
        ("a b c", "", 3),
        ("", "a b", 2),
    ],
)
def test_word_edits_count_substitutions_insertions_and_deletions(ref, hyp, edits):
    assert scoring.word_edits(ref, hyp) == edits


def test_word_error_rate_weighs_by_reference_words():
    assert scoring.word_error_rate([("a b c d", "a b c d"), ("e f", "e x")]) == 1 / 6
    assert scoring.word_error_rate([]) == 0.0
