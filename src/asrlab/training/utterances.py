"""A run's per-utterance test errors, kept in its folder for paired comparisons between runs.

`test_utterances.npz` (numpy arrays, read with allow_pickle=False) holds, sorted by id: `ids`
(each utterance's manifest and line, relative to the folder of the test manifests, so a copy of
the data elsewhere keeps them), `word_errors`, `words`, `char_errors`, `chars` (N,) and `digest`,
a hash of the ids and normalised references: two runs were scored on the same test set when
their digests agree. The digest does not cover the audio.
"""

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TEST_UTTERANCES = "test_utterances.npz"
COUNTS = ("word_errors", "words", "char_errors", "chars")


class UtterancesError(ValueError):
    """A per-utterance file that cannot be used."""


@dataclass(frozen=True)
class UtteranceCounts:
    """Per test utterance (N,), sorted by id: errors and reference lengths, words and chars."""

    ids: np.ndarray
    word_errors: np.ndarray
    words: np.ndarray
    char_errors: np.ndarray
    chars: np.ndarray
    digest: str

    @classmethod
    def of(
        cls,
        ids: Sequence[str],
        references: Sequence[str],
        counts: Sequence[Sequence[int]],
    ) -> "UtteranceCounts":
        """From the utterances as scored: `counts` is (word errors, words, char errors, chars),
        each (N,). An utterance scored twice (DDP ranks pad their shares) counts once."""
        first: dict[str, int] = {}
        for i, utt_id in enumerate(ids):
            first.setdefault(utt_id, i)
        by_key = sorted(zip(relative_ids(list(first)), first.values(), strict=True))
        keys, kept = [key for key, _ in by_key], [i for _, i in by_key]
        lines = "".join(f"{key}\t{references[i]}\n" for key, i in by_key)
        digest = hashlib.sha256(lines.encode()).hexdigest()[:16]
        arrays = [np.asarray(column, dtype=np.int64)[kept] for column in counts]
        return cls(np.array(keys, dtype=str), *arrays, digest=digest)

    def __len__(self) -> int:
        return len(self.ids)

    def save(self, run_dir: Path) -> Path:
        path = run_dir / TEST_UTTERANCES
        arrays = {name: getattr(self, name) for name in COUNTS}
        np.savez_compressed(path, ids=self.ids, digest=np.array(self.digest), **arrays)
        return path

    @classmethod
    def load(cls, path: Path) -> "UtteranceCounts":
        """Raises UtterancesError naming the file when it is unreadable or incomplete."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in ("ids", "digest", *COUNTS)}
        except (OSError, ValueError, KeyError, EOFError) as err:
            raise UtterancesError(f"{path}: unreadable per-utterance errors: {err}") from None
        shapes = {arrays[name].shape for name in ("ids", *COUNTS)}
        if len(shapes) != 1 or len(shapes.pop()) != 1 or arrays["digest"].shape != ():
            raise UtterancesError(f"{path}: arrays of different lengths")
        digest = str(arrays.pop("digest"))
        return cls(**arrays, digest=digest)


def relative_ids(ids: Sequence[str]) -> list[str]:
    """Ids `MANIFEST:LINE` with the manifests' common folder left out (`test.jsonl:3`)."""
    if not ids:
        return []
    manifests = {utt_id.rpartition(":")[0] for utt_id in ids}
    folders = {os.path.dirname(manifest) for manifest in manifests}
    base = folders.pop() if len(folders) == 1 else os.path.commonpath(folders)
    return [os.path.relpath(utt_id, base) if base else utt_id for utt_id in ids]
