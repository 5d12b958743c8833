"""synth_digits: spoken digit strings synthesised offline with espeak-ng.

Each utterance says 1 to 5 digits as words ("three one four") with a random voice of its split,
a random speaking rate and pitch, a short random silence at either end and a little white noise
(random SNR), peak-normalised and resampled from espeak-ng's 22050 Hz.

Voices are split by *variant* (the timbre), so that no val or test voice is heard in training;
every base voice (accent) appears in every split:

    base voices     en-us, en (British), en-gb-scotland, en-gb-x-rp, en-029 (Caribbean),
                    en-gb-x-gbclan (Lancaster), en-gb-x-gbcwmd (West Midlands), en-us-nyc
    train variants  m1 m2 m4 m5 m7 m8 f1 f3 f5  (72 voices)
    val variants    m3 f2                       (16 voices)
    test variants   m6 f4                       (16 voices)

`accents` adds foreign-accented base voices (asrlab.data.datasets.accents): another language's
voice reading the digits respelt in its orthography, with the same variants per split.

`split_voices(split)` lists the voices of a split.

Generation is deterministic: every utterance draws from its own generator seeded with
(seed, split, index), and espeak-ng restarts from a fresh state at the start of each block of
`BLOCK_SIZE` utterances, so the files do not depend on the number of worker processes.

The dataset is generated once into `root/synth_digits-<hash>/` (the hash covers every generation
parameter) holding `train.jsonl`, `val.jsonl`, `test.jsonl`, `params.json` and `wavs/`. It is
built in a temporary sibling folder and renamed into place when complete.
"""

import json
import logging
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cache, partial
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torchaudio.transforms import Resample

from asrlab.data.audio import write_audio
from asrlab.data.datasets.accents import ACCENT_DIGITS, check_accents
from asrlab.data.datasets.espeak import SAMPLE_RATE as ESPEAK_RATE
from asrlab.data.datasets.espeak import get_espeak
from asrlab.storage import content_key, staged_folder

log = logging.getLogger(__name__)
T = TypeVar("T", int, float)

SPLITS = ("train", "val", "test")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
BASE_VOICES = (
    "en-us",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)
SPLIT_VARIANTS = {
    "train": ("m1", "m2", "m4", "m5", "m7", "m8", "f1", "f3", "f5"),
    "val": ("m3", "f2"),
    "test": ("m6", "f4"),
}
BLOCK_SIZE = 16
"""Utterances synthesised in a row from one fresh espeak-ng state (the unit of parallel work)."""

_FORMAT_VERSION = 1  # bump when the generated audio changes for the same parameters
_PEAK = 0.9


def split_voices(split: str, accents: Sequence[str] = ()) -> tuple[str, ...]:
    """The espeak-ng voices (`base+variant`) of one split, English and then accented bases."""
    bases = BASE_VOICES + tuple(accents)
    return tuple(f"{base}+{variant}" for variant in SPLIT_VARIANTS[split] for base in bases)


def spoken_digits(digits: Sequence[int], voice: str) -> str:
    """What `voice` reads for `digits`: the English words, or its accent's respellings."""
    words = ACCENT_DIGITS.get(voice.partition("+")[0], DIGIT_WORDS)
    return " ".join(words[d] for d in digits)


@dataclass(frozen=True)
class _Settings:
    """What an utterance depends on besides its split and index."""

    sample_rate: int
    seed: int
    min_digits: int
    max_digits: int
    rate_range: tuple[int, int]
    pitch_range: tuple[int, int]
    snr_db_range: tuple[float, float]
    silence_range: tuple[float, float]
    accents: tuple[str, ...]


_BlockResult = tuple[str, int, list[dict]]
Synthesizer = Callable[[_Settings, str, int], tuple[np.ndarray, str, str]]
"""(settings, split, index) -> one utterance: (waveform at the target rate, text, voice)."""


@dataclass(frozen=True)
class _Block:
    """Utterances `start` to `stop` (excluded) of a split, written under `folder`."""

    settings: _Settings
    split: str
    start: int
    stop: int
    folder: Path
    synthesize: Synthesizer


@cache
def _resampler(sample_rate: int) -> Resample:
    """From espeak-ng's rate; the same filter as `torchaudio.functional.resample`, built once."""
    return Resample(ESPEAK_RATE, sample_rate)


def speak(settings: _Settings, text: str, voice: str, rng: np.random.Generator) -> np.ndarray:
    """`text` said by `voice` at a random rate and pitch of `settings`, at the target rate."""
    engine = get_espeak()
    engine.set_voice(voice)
    engine.set_rate(int(rng.integers(settings.rate_range[0], settings.rate_range[1] + 1)))
    engine.set_pitch(int(rng.integers(settings.pitch_range[0], settings.pitch_range[1] + 1)))
    engine.seed(int(rng.integers(2**31)))
    speech = engine.synthesize(text)
    with torch.inference_mode():
        return _resampler(settings.sample_rate)(torch.from_numpy(speech)).numpy()


def _synthesize(settings: _Settings, split: str, index: int) -> tuple[np.ndarray, str, str]:
    """One utterance: (waveform at the target rate, text, voice)."""
    rng = np.random.default_rng([settings.seed, SPLITS.index(split), index])
    digits = rng.integers(0, 10, size=rng.integers(settings.min_digits, settings.max_digits + 1))
    text = " ".join(DIGIT_WORDS[d] for d in digits)
    voices = split_voices(split, settings.accents)
    voice = voices[rng.integers(len(voices))]
    speech = speak(settings, spoken_digits(digits, voice), voice, rng)

    lead, trail = (rng.uniform(*settings.silence_range, size=2) * settings.sample_rate).astype(int)
    wave = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(trail, np.float32)])
    noise_rms = np.sqrt(np.mean(speech**2)) / 10 ** (rng.uniform(*settings.snr_db_range) / 20)
    wave += noise_rms * rng.standard_normal(len(wave), dtype=np.float32)
    return wave * (_PEAK / np.abs(wave).max()), text, voice


def _make_block(block: _Block) -> _BlockResult:
    """Synthesise and write a block; returns (split, start, manifest rows)."""
    get_espeak().restart()
    rows = []
    for index in range(block.start, block.stop):
        wave, text, voice = block.synthesize(block.settings, block.split, index)
        relative = f"wavs/{block.split}/{block.split}-{index:05d}.wav"
        write_audio(block.folder / relative, wave, block.settings.sample_rate)
        duration = len(wave) / block.settings.sample_rate
        rows.append(
            {
                "audio_filepath": relative,
                "duration": duration,
                "text": text,
                "voice": voice,
                "speaker": voice,
            }
        )
    return block.split, block.start, rows


def _init_worker() -> None:
    """One thread per worker process: the pool is the parallelism."""
    torch.set_num_threads(1)


def _pair(values: Sequence[T], name: str) -> tuple[T, T]:
    low, high = values
    if low > high:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {tuple(values)}")
    return low, high


class SynthDigits:
    """The synth_digits dataset under `root`; `prepare()` generates it once and returns manifests.

    The default `num_train` gives about one hour of training audio.
    """

    name = "synth_digits"
    """The cache folder's prefix; a variant task (synth_hard) sets its own, and `synthesize`."""
    synthesize = staticmethod(_synthesize)

    def __init__(
        self,
        root: str | Path,
        sample_rate: int = 16000,
        num_train: int = 2600,
        num_val: int = 200,
        num_test: int = 5000,
        seed: int = 1234,
        min_digits: int = 1,
        max_digits: int = 5,
        workers: int = 2,
        rate_range: Sequence[int] = (130, 210),
        pitch_range: Sequence[int] = (25, 75),
        snr_db_range: Sequence[float] = (25.0, 40.0),
        silence_range: Sequence[float] = (0.05, 0.35),
        accents: Sequence[str] = (),
    ) -> None:
        if not 1 <= min_digits <= max_digits:
            raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}, {max_digits}")
        if min(num_train, num_val, num_test, seed) < 0 or sample_rate <= 0 or workers < 1:
            raise ValueError("need counts and seed >= 0, sample_rate > 0 and workers >= 1")
        self.root = Path(root)
        self.counts = {"train": num_train, "val": num_val, "test": num_test}
        self.workers = workers
        self.settings = _Settings(
            sample_rate=sample_rate,
            seed=seed,
            min_digits=min_digits,
            max_digits=max_digits,
            rate_range=_pair(rate_range, "rate_range"),
            pitch_range=_pair(pitch_range, "pitch_range"),
            snr_db_range=_pair(snr_db_range, "snr_db_range"),
            silence_range=_pair(silence_range, "silence_range"),
            accents=check_accents(accents),
        )

    @property
    def params(self) -> dict:
        """Every parameter the generated files depend on (written to `params.json`)."""
        return {
            "format_version": _FORMAT_VERSION,
            "espeakng_loader": version("espeakng_loader"),
            **asdict(self.settings),
            "counts": self.counts,
            "base_voices": list(BASE_VOICES),
            "split_variants": {split: list(v) for split, v in SPLIT_VARIANTS.items()},
            "block_size": BLOCK_SIZE,
        }

    @property
    def folder(self) -> Path:
        """The cache folder, named from a hash of `params`."""
        return self.root / f"{self.name}-{content_key(self.params, 10)}"

    def manifests(self) -> dict[str, Path]:
        """Where the manifest of each split is (or will be once prepared)."""
        return {split: self.folder / f"{split}.jsonl" for split in SPLITS}

    def prepare(self) -> dict[str, Path]:
        """Generate the dataset unless it is cached; returns the manifest of each split."""
        folder = self.folder
        if folder.is_dir():
            log.info("synth_digits: using cached %s", folder)
        else:
            with staged_folder(folder) as staging:
                self._build(staging)
        missing = [str(path) for path in self.manifests().values() if not path.is_file()]
        if missing:
            raise FileNotFoundError(
                f"synth_digits cache {folder} is incomplete (missing "
                f"{', '.join(missing)}); delete it to regenerate"
            )
        return self.manifests()

    def _blocks(self, folder: Path) -> list[_Block]:
        return [
            _Block(
                self.settings,
                split,
                start,
                min(start + BLOCK_SIZE, count),
                folder,
                self.synthesize,
            )
            for split, count in self.counts.items()
            for start in range(0, count, BLOCK_SIZE)
        ]

    def _build(self, folder: Path) -> None:
        """Generate every split into `folder`."""
        for split in SPLITS:
            (folder / "wavs" / split).mkdir(parents=True)
        total = sum(self.counts.values())
        log.info(
            "synth_digits: generating %d utterances with %d worker(s) into %s",
            total,
            self.workers,
            self.root,
        )
        started = time.perf_counter()
        rows: dict[str, dict[int, list[dict]]] = {split: {} for split in SPLITS}
        columns = (
            TextColumn("synth_digits"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        # The pool starts before the progress bar's refresh thread.
        with self._runner() as run, Progress(*columns) as progress:
            task = progress.add_task("generate", total=total)
            for split, start, block_rows in run(self._blocks(folder)):
                rows[split][start] = block_rows
                progress.advance(task, len(block_rows))
        hours = {}
        for split, blocks in rows.items():
            lines = [row for start in sorted(blocks) for row in blocks[start]]
            hours[split] = sum(row["duration"] for row in lines) / 3600
            (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
        (folder / "params.json").write_text(json.dumps(self.params, indent=2) + "\n")
        log.info(
            "synth_digits: generated in %.1f s: %s",
            time.perf_counter() - started,
            ", ".join(
                f"{split} {self.counts[split]} utts {hours[split]:.2f} h" for split in SPLITS
            ),
        )

    @contextmanager
    def _runner(self) -> Iterator[Callable[[list[_Block]], Iterable[_BlockResult]]]:
        """Yields a function that makes blocks, returning their results in any order.

        One worker runs in this process; more run in a process pool started the platform's
        default way (with spawn, a calling script needs the `if __name__ == "__main__":` guard).
        """
        if self.workers == 1:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # tiny convolutions: more threads only spin
            try:
                yield partial(map, _make_block)
            finally:
                torch.set_num_threads(threads)
            return
        with multiprocessing.Pool(self.workers, initializer=_init_worker) as pool:
            yield partial(pool.imap_unordered, _make_block)
