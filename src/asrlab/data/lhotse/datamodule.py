"""`data=lhotse`: the data module on Lhotse cuts, bucketed by Lhotse's DynamicBucketingSampler."""

import logging
import math
from collections.abc import Sequence
from functools import partial
from itertools import islice
from typing import Any

import numpy as np
from lhotse import CutSet
from lhotse.dataset import DynamicBucketingSampler
from lhotse.dataset.dataloading import get_rank, get_world_size
from lhotse.dataset.sampling.dynamic_bucketing import estimate_duration_buckets

from asrlab.data.datamodule import ASRDataModule
from asrlab.data.dataset import Example
from asrlab.data.lhotse.cuts import cut_problems, shar_problems
from asrlab.data.lhotse.dataset import CutBatches
from asrlab.data.lhotse.loader import LhotseLoader
from asrlab.data.lhotse.shards import SharLoader, StandIns
from asrlab.data.lhotse.source import LhotseCuts
from asrlab.data.manifest import ManifestError, Problem, describe
from asrlab.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)

BINS_ESTIMATE = 10_000
"""Cuts from which Lhotse estimates the duration buckets' edges."""
SHAR_BUFFERED_BATCHES = 8
"""Batches a duration bucket holds, at most, in a Shar worker's sampler (cuts with audio)."""


class LhotseDataModule(ASRDataModule):
    """Batches of at most `max_duration` seconds of audio (and `batch_size` cuts), from
    `num_buckets` duration buckets, shuffled by `seed` and the epoch, each DDP rank its share.

    Every cut is checked before training (`cut_problems`); with `lazy` sources, as the sampler
    reaches it. Bad cuts stop the run (`on_error=raise`) or are counted, logged and left out.
    Features are the model's frontend's, computed on the fly from the waveforms.
    """

    source: LhotseCuts

    def __init__(
        self, *args: Any, max_duration: float = 200.0, allow_urls: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.cache:
            raise ValueError("data=lhotse has no feature cache: use data.cache=false")
        self.max_duration = max_duration
        self.allow_urls = allow_urls
        self.cuts: dict[str, CutSet] = {}
        self._bad: dict[str, set[str]] = {}
        self._durations: dict[str, list[np.ndarray]] = {}
        self._first: dict[str, np.ndarray] = {}

    def setup(self, stage: str | None = None) -> None:
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}
        for split in wanted.get(stage, self.source.specs) if stage else self.source.specs:
            if split not in self.cuts:
                self.cuts[split] = self._checked(split)

    def _checked(self, split: str) -> CutSet:
        """The split's cuts, checked. A Shar split's shard durations are kept when all its cuts
        pass, so that its loader counts batches without parsing the cuts again."""
        cuts = self.source.cuts(split)
        if (fields := self.source.shards(split)) is not None:
            problems, durations = shar_problems(fields, self.tokenizer, self.allow_urls)
            if not problems:
                self._durations[split] = durations
        elif self.source.lazy:
            return cuts.filter(_LazyCheck(self, split))
        else:
            problems = cut_problems(
                self.source.cuts(split, audio=False), self.tokenizer, self.allow_urls
            )
        if problems and self.on_error == "raise":
            raise ManifestError(
                describe(problems).replace("manifest line", "cut")
                + "\n(data.on_error=skip leaves such cuts out instead)"
            )
        if problems:
            self._skip(split, problems)
            self._bad[split] = {p.where.removeprefix("cut ") for p in problems}
            cuts = cuts.filter(_Without(self._bad[split]))
        return cuts

    def _skip(self, split: str, problems: list[Problem]) -> None:
        self.skipped[split] = self.skipped.get(split, 0) + len(problems)
        log.warning("%s: skipping %d bad cut(s)", split, len(problems))
        self._report(split, problems)

    def _usable(self, split: str) -> CutSet:
        """The split's cuts that pass the checks, metadata only, streamed (nothing counted or
        logged)."""
        usable = _Usable(self._bad.get(split, set()), self.tokenizer, self.allow_urls)
        return self.source.cuts(split, audio=False).filter(usable)

    def val_durations(self) -> list[float]:
        return [cut.duration for cut in self._usable("val")]

    def val_examples(self, indices: Sequence[int]) -> list[Example]:
        """Reads the validation cuts until it has these (one pass at most)."""
        ids = [cut.id for cut in self._usable("val")]
        wanted = {ids[i] for i in indices}
        examples = CutBatches(self.tokenizer, self.sample_rate, self.allow_urls)
        found = {}
        for cut in self.source.cuts("val"):
            if cut.id in wanted:
                found[cut.id] = examples.example(cut)
                if len(found) == len(wanted):
                    break
        return [found[ids[i]] for i in indices]

    def _loader(self, split: str, train: bool) -> LhotseLoader | SharLoader:
        """Shar folders: `SharLoader` (the sampler in the workers); else `LhotseLoader`."""
        first = self._first_durations(split)
        buckets = min(self.num_buckets, len(first))
        bins = None if buckets >= 2 else [self.max_duration]
        max_cuts = self.batch_size if train else self.eval_batch_size
        sampler = partial(
            DynamicBucketingSampler,
            max_duration=self.max_duration,
            max_cuts=max_cuts,
            num_buckets=buckets,
            duration_bins=bins,
            num_cuts_for_bins_estimate=BINS_ESTIMATE,
            shuffle=train,
            seed=self.seed,
        )
        dataset = CutBatches(self.tokenizer, self.sample_rate, self.allow_urls)
        if (fields := self.source.shards(split)) is not None:
            return SharLoader(
                dataset,
                fields,
                _shar_sampler(sampler, first, buckets, self.max_duration, max_cuts),
                _Without(self._bad.get(split, set())),
                shuffle=train,
                seed=self.seed,
                rank=get_rank(),
                world_size=get_world_size(),
                equal_ranks=train,
                num_workers=self.num_workers,
                durations=self._durations.get(split),
            )
        return LhotseLoader(
            dataset,
            sampler,
            self.cuts[split],
            self._usable(split),
            seed=self.seed,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def _first_durations(self, split: str) -> np.ndarray:
        """The durations (s) of the split's first usable cuts, from which Lhotse estimates the
        buckets' edges (it needs 2 to as many buckets as cuts): a Shar split whose cuts all
        passed the setup's check has them already; others are read once."""
        if split in self._durations:
            return np.concatenate(self._durations[split])[:BINS_ESTIMATE]
        if split not in self._first:
            first = islice(self._usable(split), BINS_ESTIMATE)
            self._first[split] = np.array([cut.duration for cut in first], dtype=np.float64)
        return self._first[split]

    def epoch_batches(self, epochs: int) -> list[int]:
        """Counted on the cuts' metadata (a pass of the sampler per epoch, no audio read)."""
        loader = self._loader("train", train=True)
        counts = []
        for epoch in range(epochs):
            loader.set_epoch(epoch)
            counts.append(len(loader))
        return counts

    def train_dataloader(self) -> LhotseLoader | SharLoader:
        """This epoch's batches. Lightning reads a loader's length once, when it loads it, and
        would stop an epoch with more batches than the first one short: under a Trainer, the
        loader is reloaded each epoch with that epoch's length."""
        loader = self._loader("train", train=True)
        if self.trainer is not None:
            self.trainer.reload_dataloaders_every_n_epochs = 1
            loader.set_epoch(self.trainer.current_epoch)
        return loader


def _shar_sampler(
    sampler: partial, first: np.ndarray, buckets: int, max_duration: float, max_cuts: int | None
) -> partial:
    """`sampler` for one worker's Shar cuts (which carry their audio): one process (rank 0 of
    1), the buckets' edges estimated once, from the durations of the split's `first` cuts, and
    a buffer of SHAR_BUFFERED_BATCHES batches a bucket instead of Lhotse's 20,000 cuts, which it
    reads before the first batch."""
    bins = sampler.keywords["duration_bins"] or estimate_duration_buckets(
        StandIns([first]), buckets
    )
    mean = float(np.mean(first)) if len(first) else max_duration
    per_batch = max_duration / mean if max_cuts is None else min(max_cuts, max_duration / mean)
    # Lhotse warns below this many cuts, guessing their mean from the bins' edges.
    floor = (len(bins) + 1) * max_duration / float(np.mean(bins)) if bins else 0.0
    buffer = math.ceil(max(SHAR_BUFFERED_BATCHES * (len(bins) + 1) * per_batch, floor))
    return partial(sampler, duration_bins=bins, buffer_size=buffer, world_size=1, rank=0)


class _Without:
    """A CutSet filter leaving out the cuts of these ids (a class: a lambda cannot be pickled)."""

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids

    def __call__(self, cut: Any) -> bool:
        return cut.id not in self.ids


class _Usable:
    """A CutSet filter keeping the cuts that pass the checks and are not among `bad`."""

    def __init__(self, bad: set[str], tokenizer: Tokenizer, urls: bool) -> None:
        self.bad = bad
        self.tokenizer = tokenizer
        self.urls = urls

    def __call__(self, cut: Any) -> bool:
        return cut.id not in self.bad and not cut_problems([cut], self.tokenizer, self.urls)


class _LazyCheck:
    """A lazy CutSet's filter: a bad cut raises ManifestError (in the sampler's process, before
    its batch is read) or, with on_error=skip, is counted and logged once, and left out."""

    def __init__(self, data: LhotseDataModule, split: str) -> None:
        self.data = data
        self.split = split

    def __call__(self, cut: Any) -> bool:
        bad = self.data._bad.setdefault(self.split, set())
        if cut.id in bad:  # met before (an earlier epoch or pass): counted then
            return False
        problems = cut_problems([cut], self.data.tokenizer, self.data.allow_urls)
        if problems and self.data.on_error == "raise":
            raise ManifestError(f"{problems[0].where}: {problems[0].message}")
        if problems:
            bad.add(cut.id)
            self.data._skip(self.split, problems)
        return not problems
