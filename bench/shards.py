"""File-per-utterance reading against Lhotse Shar shards; the first batch of a huge lazy manifest.

A synthetic corpus of N utterances (8 kHz 16-bit WAV, 0.3-1.2 s of a tone glide in light
noise, transcripts of digit words) is read for one training epoch, with 2 loader workers and the
same budget (at most 32 utterances a batch), two ways:
- files: asrlab's JSONL path (data=manifest: ASRDataModule, BucketBatchSampler), each
  utterance its own WAV file;
- shar_wav, shar_flac: data=lhotse on Lhotse Shar shards of the same corpus, written as
  `asrlab-data shard` writes them (audio as WAV or FLAC, `--formats`; 1,000 cuts a shard), read
  by Lhotse's DynamicBucketingSampler in the loader workers.
The readers take turns, `--repeats` times (the load of a shared machine drifts); each reports
its run of median throughput, with the throughput of every run, and the bytes it reads.

Each: audio seconds delivered per second of the epoch (begun as Lightning begins one: the
loader's length, which a Shar loader counts, then its batches), and per CPU second (of the
main process and its workers: what the machine's load hardly moves), time from setup to the
first batch, peak memory (PSS of the main process and its workers together, sampled every
0.2 s: PSS shares forked pages out instead of counting them in every worker; and the reader's
share, above what this process held before: the corpus rows the benchmark keeps), and files of
the corpus opened, during setup and during the epoch. Opens are counted in every process:
Python's `open` audit event (tar shards, gzipped manifests) and soundfile opening a path
(libsndfile opens the file itself, unseen by the audit hook); workers inherit both hooks and a
shared counter at fork.

Then a lazy Lhotse manifest of 1,000,000 cuts (data=lhotse, lazy=true; cuts reuse the corpus'
files): seconds from setup to the first batch, and of the full pass that writes its transcript
view (what the tokenizer and the pre-flight read; once per run).

    python bench/shards.py [--n 100000] [--lazy-cuts 1000000] [--repeats 1] [--smoke]
"""

import argparse
import gc
import gzip
import json
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import soundfile
from lhotse import CutSet, Recording, SupervisionSegment
from lhotse.audio import AudioSource
from lhotse.cut import MonoCut

from asrlab.data.audio import write_audio
from asrlab.data.datamodule import ASRDataModule
from asrlab.data.datasets.manifest import Manifests
from asrlab.data.lhotse.datamodule import LhotseDataModule
from asrlab.data.lhotse.source import LhotseCuts
from asrlab.data.lhotse.write import AUDIO_FORMATS, write_split
from asrlab.data.manifest import write_manifest
from asrlab.model.frontends import LogMel
from asrlab.text.tokenizer import CharTokenizer
from common import write_result

SAMPLE_RATE = 8000
WORKERS = 2
BATCH_SIZE = 32
MAX_DURATION = 200.0  # seconds; never binding here: 32 utterances last at most 38 s
SHARD_SIZE = 1000
WORDS = "zero one two three four five six seven eight nine".split()


def write_corpus(folder: Path, n: int) -> list[dict[str, Any]]:
    """N WAV files under folder/wavs and their manifest rows (absolute paths)."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        seconds = rng.uniform(0.3, 1.2)
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        f0, f1 = rng.uniform(150, 600, 2)
        wave = 0.5 * np.sin(2 * np.pi * (f0 + (f1 - f0) * t / seconds / 2) * t)
        wave += 0.01 * rng.standard_normal(len(t))
        path = folder / "wavs" / f"{i // 1000:03d}" / f"{i:07d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, wave, SAMPLE_RATE)
        text = " ".join(rng.choice(WORDS, rng.integers(1, 4)))
        rows.append({"audio_filepath": str(path), "duration": len(t) / SAMPLE_RATE, "text": text})
    return rows


def cut_of(row: dict[str, Any], cut_id: str) -> MonoCut:
    """A cut of one manifest row (no file opened: the row knows the duration)."""
    samples = round(row["duration"] * SAMPLE_RATE)
    source = AudioSource(type="file", channels=[0], source=row["audio_filepath"])
    recording = Recording(cut_id, [source], SAMPLE_RATE, samples, row["duration"])
    supervision = SupervisionSegment(cut_id, cut_id, 0.0, row["duration"], text=row["text"])
    return MonoCut(cut_id, 0.0, row["duration"], 0, [supervision], recording=recording)


def write_shar(out: Path, rows: list[dict[str, Any]], audio_format: str) -> Path:
    """The corpus as `asrlab-data shard` writes it: the Shar folder out/train."""
    cuts = CutSet([cut_of(row, f"u{i}") for i, row in enumerate(rows)])
    write_split(cuts, out, "train", SHARD_SIZE, audio_format=audio_format)
    return out / "train"


def bytes_under(folder: Path, pattern: str) -> int:
    return sum(path.stat().st_size for path in folder.rglob(pattern))


def write_lazy_cuts(path: Path, rows: list[dict[str, Any]], count: int) -> Path:
    """`count` cuts cycling over the corpus' files, written line by line (constant memory)."""
    with gzip.open(path, "wt", compresslevel=1) as f:
        for i in range(count):
            f.write(json.dumps(cut_of(rows[i % len(rows)], f"c{i}").to_dict()) + "\n")
    return path


class Opens:
    """Counts files under `root` opened by this process and by workers forked later."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.count = multiprocessing.Value("q", 0)
        sys.addaudithook(self._audit)  # for good: audit hooks cannot be removed
        self._open_soundfile = soundfile.SoundFile.__init__

    def _audit(self, event: str, args: tuple) -> None:
        if event == "open" and self.root and str(args[0]).startswith(self.root):
            self._add()

    def _add(self) -> None:
        with self.count.get_lock():
            self.count.value += 1

    @contextmanager
    def under(self, root: Path) -> Iterator[Callable[[], int]]:
        """Counting within the block; yields the count so far."""

        def counted(sound_file: soundfile.SoundFile, file: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(file, str | Path) and str(file).startswith(str(root)):
                self._add()
            self._open_soundfile(sound_file, file, *args, **kwargs)

        self.root, self.count.value = str(root), 0
        soundfile.SoundFile.__init__ = counted
        try:
            yield lambda: self.count.value
        finally:
            soundfile.SoundFile.__init__ = self._open_soundfile
            self.root = None


@contextmanager
def peak_pss() -> Iterator[list[int]]:
    """Samples the PSS of this process and its children; yields [peak bytes so far]."""
    peak, done = [0], threading.Event()
    me = psutil.Process()

    def sample() -> None:
        while True:
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_full_info().pss
                except psutil.NoSuchProcess:
                    pass
            peak[0] = max(peak[0], total)
            if done.wait(0.2):
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (the loader workers)."""
    own, ended = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def read_epoch(make: Callable[[], Any], root: Path, opens: Opens) -> dict[str, Any]:
    """One training epoch of the data module `make()` gives."""
    gc.collect()
    before = psutil.Process().memory_full_info().pss  # the benchmark's own: its corpus rows
    with opens.under(root) as opened, peak_pss() as peak:
        start = time.perf_counter()
        datamodule = make()
        datamodule.setup("fit")
        loader = datamodule.train_dataloader()
        setup_opens, epoch_start, epoch_cpu = opened(), time.perf_counter(), cpu_seconds()
        expected = len(loader)  # as Lightning starts an epoch (Shar: a count of the batches)
        audio, batches, first = 0.0, 0, None
        for batch in loader:
            first = first or time.perf_counter() - start
            audio += batch.wave_lengths.sum().item() / SAMPLE_RATE
            batches += 1
        seconds = time.perf_counter() - epoch_start
        epoch_opens = opened() - setup_opens
        del datamodule, loader  # their workers end here, and are counted by cpu_seconds
        gc.collect()
        cpu = cpu_seconds() - epoch_cpu
    assert batches == expected, f"{expected} batches counted, {batches} read"
    return {
        "batches": batches,
        "audio_seconds": round(audio, 1),
        "audio_s_per_s": round(audio / seconds, 1),
        "first_batch_seconds": round(first or 0.0, 2),
        "epoch_seconds": round(seconds, 1),
        "epoch_cpu_seconds": round(cpu, 1),
        "audio_s_per_cpu_s": round(audio / cpu, 1),
        "peak_pss_mib": round(peak[0] / 2**20),
        "reader_pss_mib": round((peak[0] - before) / 2**20),
        "files_opened_setup": setup_opens,
        "files_opened_epoch": epoch_opens,
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput, with every run's throughput."""
    ranked = sorted(runs, key=lambda run: run["audio_s_per_s"])
    return ranked[len(ranked) // 2] | {"audio_s_per_s_runs": [r["audio_s_per_s"] for r in runs]}


def lazy_first_batch(cuts: Path, small: Path, manifest_dir: Path) -> dict[str, Any]:
    source = LhotseCuts(str(cuts), str(small), str(small), str(manifest_dir), lazy=True)
    start = time.perf_counter()
    datamodule = lhotse_module(source)
    datamodule.setup("fit")
    next(iter(datamodule.train_dataloader()))
    first = time.perf_counter() - start
    start = time.perf_counter()
    source.prepare()
    return {
        "first_batch_seconds": round(first, 2),
        "view_seconds": round(time.perf_counter() - start, 1),
    }


def lhotse_module(source: LhotseCuts) -> LhotseDataModule:
    return LhotseDataModule(
        source,
        CharTokenizer(),
        LogMel(SAMPLE_RATE, n_features=40).output_frames,
        sample_rate=SAMPLE_RATE,
        batch_size=BATCH_SIZE,
        num_workers=WORKERS,
        check_audio=False,
        max_duration=MAX_DURATION,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="utterances of the corpus")
    parser.add_argument(
        "--lazy-cuts", type=int, default=1_000_000, help="cuts of the lazy manifest"
    )
    parser.add_argument("--formats", nargs="+", choices=AUDIO_FORMATS, default=list(AUDIO_FORMATS))
    parser.add_argument("--repeats", type=int, default=1, help="turns of the readers")
    parser.add_argument("--smoke", action="store_true", help="--n 200 --lazy-cuts 2000")
    parser.add_argument("--workdir", type=Path, help="where the corpus goes (default: a temp dir)")
    args = parser.parse_args(argv)
    n, lazy_cuts = (200, 2000) if args.smoke else (args.n, args.lazy_cuts)
    opens = Opens()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        rows = write_corpus(root / "corpus", n)
        train = write_manifest(root / "train.jsonl", rows)
        small = write_manifest(root / "small.jsonl", rows[:4])
        corpus_seconds = time.perf_counter() - start
        shar, shar_seconds = {}, {}
        for audio_format in args.formats:
            start = time.perf_counter()
            shar[audio_format] = write_shar(root / f"shar_{audio_format}", rows, audio_format)
            shar_seconds[audio_format] = round(time.perf_counter() - start, 1)
        small_cuts = CutSet([cut_of(row, f"s{i}") for i, row in enumerate(rows[:4])])
        small_cuts.to_file(root / "cuts_small.jsonl.gz")
        small_cuts_path = str(root / "cuts_small.jsonl.gz")

        def files() -> ASRDataModule:
            return ASRDataModule(
                Manifests(str(train), str(small), str(small)),
                CharTokenizer(),
                LogMel(SAMPLE_RATE, n_features=40).output_frames,
                sample_rate=SAMPLE_RATE,
                batch_size=BATCH_SIZE,
                max_frames_per_batch=int(MAX_DURATION * 100),
                num_workers=WORKERS,
                check_audio=False,
            )

        def shards(folder: Path) -> Callable[[], LhotseDataModule]:
            return lambda: lhotse_module(
                LhotseCuts(str(folder), small_cuts_path, small_cuts_path, str(root / "views"))
            )

        makers = {"files": files, **{f"shar_{f}": shards(shar[f]) for f in args.formats}}
        sizes = {"files": bytes_under(root / "corpus", "*.wav")}
        sizes |= {f"shar_{f}": bytes_under(shar[f], "*") for f in args.formats}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in makers}
        for _ in range(args.repeats):
            for name, make in makers.items():
                runs[name].append(read_epoch(make, root, opens))
        readers = {name: median_run(runs[name]) | {"bytes": sizes[name]} for name in makers}
        lazy = lazy_first_batch(
            write_lazy_cuts(root / "cuts_lazy.jsonl.gz", rows, lazy_cuts),
            Path(small_cuts_path),
            root / "views",
        )
    result = {
        "utterances": n,
        "workers": WORKERS,
        "batch_size": BATCH_SIZE,
        "shard_size": SHARD_SIZE,
        "write_corpus_seconds": round(corpus_seconds, 1),
        "write_shar_seconds": shar_seconds,
        **readers,
        "lazy_manifest": {"cuts": lazy_cuts, **lazy},
        "load_average": [round(x, 2) for x in psutil.getloadavg()],
    }
    write_result("shards_smoke" if args.smoke else "shards", result)
    return result


if __name__ == "__main__":
    main()
