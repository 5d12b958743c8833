"""asrlab's BucketBatchSampler against Lhotse's DynamicBucketingSampler, on the same durations.

Durations (seconds):
- fsdd: FSDD's 2,500 recordings (../shared/data/fsdd), or where absent a stand-in fitted to them:
  lognormal, log-mean -0.84, log-sd 0.31 (median 0.43 s), clipped to FSDD's 0.14-2.3 s.
- synth_digits: its recipe's 2,600 training utterances, drawn as it shapes them: 1-5 digit
  words at 60/rate s each, rate uniform 130-210 words/min, plus a silence of 0.05-0.35 s at
  either end (mean 1.5 s, as generated files have).
- librispeech: 1,000,000 utterances shaped like LibriSpeech's 960 h (281,241 utterances of
  1-35 s, mean 12.3 s, most 10-17 s): gamma, shape 12.35, scale 0.996 s (mean 12.3 s, sd
  3.5 s), clipped to 1-35 s.

Equal budgets: both samplers bound a batch's padded size, `len(batch) * longest`. Lhotse's
`max_duration` counts seconds, ours `max_frames_per_batch` counts feature frames: 100 per second
(the frontends' 10 ms hop), so max_frames_per_batch = 100 * max_duration; both use the data
options' defaults (200 s, at most `batch_size` = 32 utterances: Lhotse's `max_cuts`) and
20 buckets. Both are given the durations in memory (ours frames, Lhotse duration-only cuts).

Per sampler and distribution: padding fraction (of frames), seconds to build one epoch
(constructor and every batch), peak memory of that (tracemalloc, a second pass), determinism
(that second pass equals the first; seed 1 differs), and the split over 2 DDP ranks.

    python bench/samplers.py [--smoke]
"""

import argparse
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from lhotse import CutSet
from lhotse.cut import MonoCut
from lhotse.dataset import DynamicBucketingSampler

from asrlab.data.audio import audio_info
from asrlab.data.sampler import BucketBatchSampler, padding_fraction
from common import REPO, write_result

FSDD = REPO.parent / "shared" / "data" / "fsdd" / "recordings"
FRAMES_PER_SECOND = 100
MAX_DURATION = 200.0
MAX_CUTS = 32
NUM_BUCKETS = 20

Batches = list[list[int]]
Epoch = Callable[[int, int, int], Batches]
"""(seed, world_size, rank) -> one epoch's batches of utterance indices."""


def fsdd_durations(rng: np.random.Generator, smoke: bool) -> tuple[np.ndarray, str]:
    files = [] if smoke else sorted(FSDD.glob("*.wav"))
    if files:
        return np.array([audio_info(f).duration for f in files]), "FSDD recordings"
    stand_in = rng.lognormal(-0.84, 0.31, 2500).clip(0.14, 2.3)
    return stand_in, "lognormal stand-in (FSDD not found)"


def synth_digits_durations(rng: np.random.Generator, n: int) -> np.ndarray:
    words = rng.integers(1, 6, n)
    speech = words * 60 / rng.uniform(130, 210, n)
    return speech + rng.uniform(0.05, 0.35, (2, n)).sum(axis=0)


def librispeech_durations(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.gamma(12.35, 0.996, n).clip(1.0, 35.0)


def asrlab_epoch(frames: np.ndarray) -> Epoch:
    def epoch(seed: int, world_size: int, rank: int) -> Batches:
        sampler = BucketBatchSampler(
            frames,
            max_frames_per_batch=int(MAX_DURATION * FRAMES_PER_SECOND),
            batch_size=MAX_CUTS,
            num_buckets=NUM_BUCKETS,
            seed=seed,
            num_replicas=world_size,
            rank=rank,
        )
        return list(sampler)

    return epoch


def lhotse_epoch(durations: np.ndarray) -> Epoch:
    # Cut ids are the utterances' indices; a cut needs no recording to be sampled.
    cuts = CutSet(
        [
            MonoCut(id=str(i), start=0.0, duration=float(d), channel=0)
            for i, d in enumerate(durations)
        ]
    )

    def epoch(seed: int, world_size: int, rank: int) -> Batches:
        with warnings.catch_warnings():  # "an eagerly read CutSet": on purpose, like ours
            warnings.simplefilter("ignore", UserWarning)
            sampler = DynamicBucketingSampler(
                cuts,
                max_duration=MAX_DURATION,
                max_cuts=MAX_CUTS,
                num_buckets=NUM_BUCKETS,
                shuffle=True,
                seed=seed,
                world_size=world_size,
                rank=rank,
            )
            return [[int(cut.id) for cut in batch] for batch in sampler]

    return epoch


def ddp_split(ranks: list[Batches], n: int) -> dict[str, Any]:
    """How the ranks' batches share the `n` utterances: counts per rank, repeats, misses."""
    counts = np.bincount([i for batches in ranks for batch in batches for i in batch], None, n)
    return {
        "batches_per_rank": [len(b) for b in ranks],
        "repeated": int((counts > 1).sum()),
        "missing": int((counts == 0).sum()),
    }


def measure(epoch: Epoch, frames: np.ndarray) -> dict[str, Any]:
    start = time.perf_counter()
    first = epoch(0, 1, 0)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    again = epoch(0, 1, 0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    split = ddp_split([epoch(0, 2, rank) for rank in range(2)], len(frames))
    return {
        "batches": len(first),
        "padding": round(padding_fraction(first, frames), 4),
        "epoch_seconds": round(seconds, 3),
        "peak_mib": round(peak / 2**20, 1),
        "same_twice": again == first,
        "other_seed_differs": epoch(1, 1, 0) != first,
        "ddp_2": split,
    }


def distributions(smoke: bool) -> Iterable[tuple[str, np.ndarray, str]]:
    rng = np.random.default_rng(0)
    fsdd, source = fsdd_durations(rng, smoke)
    yield "fsdd", fsdd, source
    yield "synth_digits", synth_digits_durations(rng, 2600), "recipe stand-in"
    n = 5000 if smoke else 1_000_000
    yield "librispeech", librispeech_durations(rng, n), "gamma(12.35, 0.996) in 1-35 s"


def table(rows: list[dict[str, Any]]) -> str:
    head = "| durations | sampler | n | batches | padding | epoch s | peak MiB | seeded | DDP 2 |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        split = r["ddp_2"]
        ddp = "/".join(map(str, split["batches_per_rank"]))
        ddp += f", {split['repeated']} repeated, {split['missing']} missing"
        seeded = "yes" if r["same_twice"] and r["other_seed_differs"] else "NO"
        lines.append(
            f"| {r['durations']} | {r['sampler']} | {r['utterances']:,} | {r['batches']:,} | "
            f"{r['padding']:.1%} | {r['epoch_seconds']:.2f} | {r['peak_mib']:.1f} | {seeded} | "
            f"{ddp} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="5,000 LibriSpeech-shaped, no FSDD")
    args = parser.parse_args(argv)
    rows = []
    for name, durations, source in distributions(args.smoke):
        frames = np.round(durations * FRAMES_PER_SECOND).astype(np.int64)
        for sampler, epoch in (
            ("asrlab", asrlab_epoch(frames)),
            ("lhotse", lhotse_epoch(durations)),
        ):
            row = {"durations": name, "source": source, "sampler": sampler}
            rows.append(row | {"utterances": len(frames)} | measure(epoch, frames))
            print(f"{name} {sampler}: done", flush=True)
    result = {
        "max_duration_s": MAX_DURATION,
        "max_frames_per_batch": int(MAX_DURATION * FRAMES_PER_SECOND),
        "max_cuts": MAX_CUTS,
        "num_buckets": NUM_BUCKETS,
        "rows": rows,
    }
    write_result("samplers_smoke" if args.smoke else "samplers", result)
    print(table(rows))
    return result


if __name__ == "__main__":
    main()
