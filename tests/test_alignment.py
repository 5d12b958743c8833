"""Word alignment: counts and markup of substitutions, insertions and deletions."""

import pytest

from asrlab.text.alignment import Edit, align_words


def test_alignment_counts_each_kind_of_error() -> None:
    alignment = align_words("one two three four", "one too three four five")
    assert (alignment.substitutions, alignment.insertions, alignment.deletions) == (1, 1, 0)
    assert Edit("substitute", "two", "too") in alignment.edits
    assert alignment.markup() == "one ~~two~~→**too** three four **five**"


def test_deletions_and_empty_sides() -> None:
    assert align_words("a b c", "a c").edits == [
        Edit("equal", "a", "a"),
        Edit("delete", "b", ""),
        Edit("equal", "c", "c"),
    ]
    assert align_words("a b", "").deletions == 2
    assert align_words("", "x y").insertions == 2
    assert align_words("", "").errors == 0


@pytest.mark.parametrize(("ref", "hyp"), [("a b c d", "b c d e"), ("x", "y z"), ("a a a", "a")])
def test_errors_equal_the_edit_distance(ref: str, hyp: str) -> None:
    import torchaudio.functional as AF

    assert align_words(ref, hyp).errors == AF.edit_distance(ref.split(), hyp.split())
