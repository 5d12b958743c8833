"""Free Spoken Digit Dataset (FSDD): the digits "zero" to "nine" recorded by a few speakers.

Layout as published (github.com/Jakobovski/free-spoken-digit-dataset), 8 kHz mono wav:

    recordings/{digit}_{speaker}_{take}.wav      e.g. recordings/7_george_31.wav

The text of a recording is its digit as a word. Two splits:

- `split="official"`, the dataset's own: takes 0-4 of every speaker and digit are test, the other
  takes train. Validation is carved from the train takes, by default takes 5-9 (`val_takes=5`:
  the first five takes after the test takes; a list names the takes instead), so no test take is
  ever used for model selection. With the 50 takes published: 80% train, 10% val, 10% test.
- `split="speaker"`, speaker-independent: `test_speakers` and `val_speakers` are held out whole and
  every other speaker found in the file names trains.
"""

import logging
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.request import urlopen

from asrlab.data.datasets.cache import DatasetError, cached_manifests, require_known
from asrlab.data.datasets.synth_digits import DIGIT_WORDS
from asrlab.storage import staged_folder

log = logging.getLogger(__name__)

REPOSITORY = "https://github.com/Jakobovski/free-spoken-digit-dataset"
URL = f"{REPOSITORY}/archive/refs/heads/master.zip"
LAYOUT = "recordings/{digit}_{speaker}_{take}.wav (8 kHz mono, e.g. recordings/7_george_31.wav)"
TEST_TAKES = range(5)
"""The official test takes; every other take is train (or val)."""

_NAME = re.compile(r"(\d)_([^_]+)_(\d+)\.wav")
_CHUNK = 1 << 20
_LOG_EVERY = 4 << 20
_TIMEOUT_S = 60


def _val_takes(val_takes: Sequence[int] | int) -> tuple[int, ...]:
    """The validation takes of the official split: a count after the test takes, or a list."""
    if isinstance(val_takes, int):
        takes = tuple(range(len(TEST_TAKES), len(TEST_TAKES) + val_takes))
    else:
        takes = tuple(sorted({int(take) for take in val_takes}))
    if not takes:
        raise DatasetError("fsdd: val_takes must name at least one take (or count >= 1)")
    if clash := [take for take in takes if take in TEST_TAKES]:
        raise DatasetError(
            f"fsdd: val_takes {clash} are official test takes "
            f"({TEST_TAKES.start}-{TEST_TAKES.stop - 1}); pick train takes"
        )
    return takes


class FSDD:
    """FSDD under `root` (the folder holding `recordings/`, or `recordings/` itself).

    `prepare()` downloads it into `root` when absent and `download` is true, then writes the
    manifests into `manifest_dir`; the data folder is never written to otherwise.
    """

    def __init__(
        self,
        root: str,
        manifest_dir: str,
        split: str = "official",
        test_speakers: Sequence[str] = (),
        val_speakers: Sequence[str] = (),
        val_takes: Sequence[int] | int = 5,
        download: bool = True,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.manifest_dir = Path(manifest_dir).expanduser().resolve()
        self.split = split
        self.download = download
        self.test_speakers = tuple(sorted({str(s) for s in test_speakers}))
        self.val_speakers = tuple(sorted({str(s) for s in val_speakers}))
        if split == "official":
            if self.test_speakers or self.val_speakers:
                raise DatasetError(
                    "fsdd: test_speakers and val_speakers hold out speakers with "
                    "split='speaker'; the official split holds out takes"
                )
            self.val_takes = _val_takes(val_takes)
        elif split == "speaker":
            if not (self.test_speakers and self.val_speakers):
                raise DatasetError(
                    "fsdd: split='speaker' needs test_speakers and val_speakers, "
                    "e.g. test_speakers=[theo] val_speakers=[nicolas]"
                )
            if both := set(self.test_speakers) & set(self.val_speakers):
                raise DatasetError(
                    f"fsdd: speakers {sorted(both)} are in both test_speakers and val_speakers"
                )
        else:
            raise DatasetError(f"fsdd: split must be 'official' or 'speaker', got {split!r}")

    @property
    def params(self) -> dict:
        """The options that decide the splits."""
        if self.split == "official":
            return {"split": self.split, "val_takes": list(self.val_takes)}
        return {
            "split": self.split,
            "test_speakers": list(self.test_speakers),
            "val_speakers": list(self.val_speakers),
        }

    def prepare(self) -> dict[str, Path]:
        """Find (or download) the recordings and write the manifest of each split."""
        recordings = self._recordings()
        found = []
        for path in sorted(recordings.glob("*.wav")):
            if match := _NAME.fullmatch(path.name):
                digit, speaker, take = match.groups()
                found.append((speaker, int(digit), int(take), path))
        if not found:
            raise DatasetError(f"fsdd: no recordings in {recordings}; expected {LAYOUT}")
        if self.split == "speaker":
            speakers = {speaker for speaker, *_ in found}
            require_known("speaker", self.test_speakers + self.val_speakers, speakers, recordings)

        splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
        for speaker, digit, take, path in sorted(found):
            splits[self._split_of(speaker, take)].append(
                {
                    "audio_filepath": str(path),
                    "text": DIGIT_WORDS[digit],
                    "speaker": speaker,
                    "digit": digit,
                    "take": take,
                    "id": path.stem,
                }
            )
        return cached_manifests("fsdd", self.manifest_dir, self.params, splits)

    def _split_of(self, speaker: str, take: int) -> str:
        if self.split == "official":
            return "test" if take in TEST_TAKES else "val" if take in self.val_takes else "train"
        return (
            "test"
            if speaker in self.test_speakers
            else "val"
            if speaker in self.val_speakers
            else "train"
        )

    def _recordings(self) -> Path:
        """The folder of wav files: `root/recordings`, `root` itself, or freshly downloaded."""
        if (self.root / "recordings").is_dir():
            return self.root / "recordings"
        if self.root.is_dir() and any(_NAME.fullmatch(p.name) for p in self.root.glob("*.wav")):
            return self.root
        if not self.download:
            raise DatasetError(
                f"fsdd: no data at {self.root}; expected {self.root}/{LAYOUT}, "
                f"the layout of {REPOSITORY} (or set download=true)"
            )
        return download_recordings(self.root)


def download_recordings(root: Path, url: str = URL) -> Path:
    """Download the published archive and extract its `recordings/*.wav` into `root/recordings`.

    The files are unpacked in a temporary folder of `root` and renamed into place when complete.
    """
    with staged_folder(root / "recordings") as staging:
        archive = staging / ".archive.zip"
        try:
            _fetch(url, archive)
        except OSError as err:
            raise DatasetError(
                f"fsdd: cannot download {url} ({err}). Offline, put the recordings of {REPOSITORY} "
                f"at {root}/{LAYOUT}, or point root at a folder holding recordings/"
            ) from err
        _extract_recordings(archive, staging, url)
        archive.unlink()
    return root / "recordings"


def _fetch(url: str, path: Path) -> None:
    """Stream `url` into `path`, logging the progress."""
    log.info("fsdd: downloading %s", url)
    with urlopen(url, timeout=_TIMEOUT_S) as response, path.open("wb") as f:
        size = int(response.headers.get("Content-Length") or 0)
        of_size = f" of {size / 1e6:.1f}" if size else ""
        done = next_log = 0
        while chunk := response.read(_CHUNK):
            f.write(chunk)
            done += len(chunk)
            if done >= next_log:
                log.info("fsdd: downloaded %.1f%s MB", done / 1e6, of_size)
                next_log += _LOG_EVERY
    log.info("fsdd: downloaded %.1f MB", done / 1e6)


def _extract_recordings(archive: Path, folder: Path, url: str) -> None:
    """Unpack the archive's `<top>/recordings/*.wav` (nothing else) into `folder`."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if _is_recording(PurePosixPath(m.filename))]
            for member in members:
                (folder / PurePosixPath(member.filename).name).write_bytes(zf.read(member))
    except zipfile.BadZipFile as err:
        raise DatasetError(f"fsdd: {url} did not give a zip archive ({err})") from err
    if not members:
        raise DatasetError(f"fsdd: the archive from {url} has no recordings/*.wav")
    log.info("fsdd: extracted %d recordings", len(members))


def _is_recording(name: PurePosixPath) -> bool:
    return len(name.parts) == 3 and name.parts[1] == "recordings" and name.suffix == ".wav"
