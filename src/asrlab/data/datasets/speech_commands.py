"""Google Speech Commands (v0.01, v0.02): one-second clips of single words, 16 kHz mono.

Layout as published:

    <root>/<word>/<speaker>_nohash_<n>.wav       e.g. <root>/marvin/0a7c2a8d_nohash_0.wav
    <root>/validation_list.txt, testing_list.txt  clips relative to <root>, one a line
    <root>/_background_noise_/                    long noise recordings, not a word

The clips listed in validation_list.txt are val, those in testing_list.txt test, every other one
train. The lists were drawn by a hash of the speaker, so the splits share no speaker. The text of a
clip is its word.
"""

from collections.abc import Sequence
from pathlib import Path

from asrlab.data.datasets.cache import DatasetError, cached_manifests, require_known

LAYOUT = (
    "<word>/<speaker>_nohash_<n>.wav with validation_list.txt and testing_list.txt "
    "(clips relative to the folder, one a line)"
)
LISTS = {"val": "validation_list.txt", "test": "testing_list.txt"}


class SpeechCommands:
    """Speech Commands under `root`; `words` restricts the vocabulary (default: every word)."""

    def __init__(self, root: str, manifest_dir: str, words: Sequence[str] | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        self.manifest_dir = Path(manifest_dir).expanduser().resolve()
        self.words = None if words is None else tuple(sorted({str(w) for w in words}))
        if self.words == ():
            raise DatasetError("speech_commands: words is empty; name some words, or null for all")

    def prepare(self) -> dict[str, Path]:
        """Scan the word folders and the two lists, and write the manifest of each split."""
        if not self.root.is_dir():
            raise DatasetError(
                f"speech_commands: no data at {self.root}; expected {self.root}/{LAYOUT}"
            )
        found = {p.name for p in self.root.iterdir() if p.is_dir() and p.name[0] not in "_."}
        if not found:
            raise DatasetError(
                f"speech_commands: no word folders in {self.root}; expected {self.root}/{LAYOUT}"
            )
        if self.words:
            require_known("word", self.words, found, self.root)
        words = self.words or tuple(sorted(found))
        clips = {
            f"{word}/{path.name}": path
            for word in words
            for path in sorted((self.root / word).glob("*.wav"))
        }
        split_of = {}
        for split, name in LISTS.items():
            for clip in self._read_list(self.root / name, clips, words):
                if split_of.setdefault(clip, split) != split:
                    raise DatasetError(
                        f"speech_commands: {clip} is in both {LISTS['val']} and "
                        f"{LISTS['test']} of {self.root}"
                    )

        splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
        for clip, path in clips.items():
            splits[split_of.get(clip, "train")].append(
                {
                    "audio_filepath": str(path),
                    "text": path.parent.name,
                    "speaker": path.stem.partition("_nohash_")[0],
                    "id": clip,
                }
            )
        params = {"words": None if self.words is None else list(self.words)}
        return cached_manifests("speech_commands", self.manifest_dir, params, splits)

    @staticmethod
    def _read_list(path: Path, clips: dict[str, Path], words: Sequence[str]) -> list[str]:
        """The clips a split list names among the chosen words; each must exist."""
        if not path.is_file():
            raise DatasetError(
                f"speech_commands: {path} is missing; expected {path.parent}/{LAYOUT}"
            )
        listed = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            clip = line.strip()
            if not clip or clip.partition("/")[0] not in words:
                continue
            if clip not in clips:
                raise DatasetError(f"{path}:{number}: the clip {clip} is not in {path.parent}")
            listed.append(clip)
        return listed
