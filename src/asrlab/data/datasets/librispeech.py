"""LibriSpeech: read English audiobooks, 16 kHz FLAC, in subsets such as train-clean-100.

Layout as published (openslr.org/12; every subset archive unpacks into `LibriSpeech/`):

    <root>/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac
    <root>/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt   lines "<ID> <TRANSCRIPT>"

`root` may also be the folder holding `LibriSpeech/`. Each split is made of whole subsets, and a
subset belongs to one split only; the published subsets have disjoint speakers. Transcripts are
kept as published (upper case); the tokenizer normalises them.
"""

from collections.abc import Sequence
from pathlib import Path

from asrlab.data.datasets.cache import SPLITS, DatasetError, cached_manifests, require_known

LAYOUT = (
    "<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac with <speaker>-<chapter>.trans.txt"
)


def _read_transcripts(path: Path, subset: str) -> list[dict]:
    """The rows of one chapter's `.trans.txt`; each line's audio file must exist."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        utt_id, _, text = line.strip().partition(" ")
        if not utt_id:
            continue
        if not text.strip():
            raise DatasetError(f"{path}:{number}: no transcript after the id {utt_id!r}")
        audio = path.parent / f"{utt_id}.flac"
        if not audio.is_file():
            raise DatasetError(f"{path}:{number}: the audio of {utt_id} is missing: {audio}")
        rows.append(
            {
                "audio_filepath": str(audio),
                "text": text.strip(),
                "speaker": path.parent.parent.name,
                "chapter": path.parent.name,
                "id": utt_id,
                "subset": subset,
            }
        )
    return rows


class LibriSpeech:
    """LibriSpeech under `root`; each split lists the subsets it is made of."""

    def __init__(
        self,
        root: str,
        manifest_dir: str,
        train: Sequence[str] = ("train-clean-100",),
        val: Sequence[str] = ("dev-clean",),
        test: Sequence[str] = ("test-clean",),
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.manifest_dir = Path(manifest_dir).expanduser().resolve()
        self.subsets = {
            split: tuple(str(s) for s in subsets)
            for split, subsets in zip(SPLITS, (train, val, test), strict=True)
        }
        for split, subsets in self.subsets.items():
            if not subsets:
                raise DatasetError(f"librispeech: the {split} split names no subset")
        named = [subset for subsets in self.subsets.values() for subset in subsets]
        if repeated := sorted({subset for subset in named if named.count(subset) > 1}):
            raise DatasetError(
                f"librispeech: subsets {repeated} are named twice; each subset "
                f"belongs to one split ({self.subsets})"
            )

    def prepare(self) -> dict[str, Path]:
        """Read the transcripts of every subset named and write the manifest of each split."""
        base = self.root / "LibriSpeech" if (self.root / "LibriSpeech").is_dir() else self.root
        if not base.is_dir():
            raise DatasetError(
                f"librispeech: no data at {self.root}; expected "
                f"{self.root}/{LAYOUT} (or {self.root}/LibriSpeech/{LAYOUT})"
            )
        found = [p.name for p in base.iterdir() if p.is_dir()]
        named = [subset for subsets in self.subsets.values() for subset in subsets]
        require_known("subset", named, found, base)
        splits = {}
        for split, subsets in self.subsets.items():
            splits[split] = []
            for subset in subsets:
                transcripts = sorted((base / subset).glob("*/*/*.trans.txt"))
                if not transcripts:
                    raise DatasetError(
                        f"librispeech: no transcripts in {base / subset}; expected {base}/{LAYOUT}"
                    )
                for path in transcripts:
                    splits[split] += _read_transcripts(path, subset)
        params = {split: list(subsets) for split, subsets in self.subsets.items()}
        return cached_manifests("librispeech", self.manifest_dir, params, splits)
