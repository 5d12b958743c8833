"""test_utterances.npz: per-utterance counts, sorted by id, with a digest of the test set."""

from pathlib import Path

import numpy as np
import pytest

from asrlab.training.utterances import UtteranceCounts, UtterancesError, relative_ids

COUNTS = [[1, 0, 2, 1], [3, 2, 4, 3], [4, 2, 9, 4], [12, 9, 20, 12]]


def counts_of(folder: str, refs: list[str]) -> UtteranceCounts:
    """Four utterances scored in DDP order: line 2 twice (a rank padded its share)."""
    ids = [f"{folder}/test.jsonl:{line}" for line in (10, 2, 9, 2)]
    return UtteranceCounts.of(ids, refs, COUNTS)


def test_sorted_by_id_once_each_and_saved_and_loaded(tmp_path: Path) -> None:
    counts = counts_of("data/a", ["x y", "one two", "a b c", "one two"])
    assert counts.ids.tolist() == ["test.jsonl:10", "test.jsonl:2", "test.jsonl:9"]
    assert counts.word_errors.tolist() == [1, 0, 2] and counts.chars.tolist() == [12, 9, 20]
    path = counts.save(tmp_path)
    loaded = UtteranceCounts.load(path)
    assert loaded.digest == counts.digest and loaded.ids.tolist() == counts.ids.tolist()
    assert loaded.words.tolist() == [3, 2, 4]


def test_digest_tells_test_sets_apart_wherever_the_data_lies() -> None:
    refs = ["x y", "one two", "a b c", "one two"]
    digest = counts_of("data/a", refs).digest
    assert counts_of("/elsewhere/copy", refs).digest == digest
    assert counts_of("data/a", ["x z", *refs[1:]]).digest != digest


def test_ids_keep_the_folders_that_tell_manifests_apart() -> None:
    ids = ["d/mix/a/test.jsonl:1", "d/mix/b/test.jsonl:1"]
    assert relative_ids(ids) == ["a/test.jsonl:1", "b/test.jsonl:1"]
    assert relative_ids(["test.jsonl:1"]) == ["test.jsonl:1"]


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "test_utterances.npz"
    path.write_text("not numpy")
    with pytest.raises(UtterancesError, match="test_utterances.npz: unreadable"):
        UtteranceCounts.load(path)
    ids = np.array(["a:1", "a:2"])
    np.savez(path, ids=ids, word_errors=[1], words=[1, 2], char_errors=[1, 2], chars=[1, 2])
    with pytest.raises(UtterancesError, match="unreadable.*digest"):
        UtteranceCounts.load(path)
    np.savez(
        path,
        ids=ids,
        word_errors=[1],
        words=[1, 2],
        char_errors=[1, 2],
        chars=[1, 2],
        digest=np.array("x"),
    )
    with pytest.raises(UtterancesError, match="different lengths"):
        UtteranceCounts.load(path)
