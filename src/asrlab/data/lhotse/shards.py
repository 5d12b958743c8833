"""Lhotse Shar shards read as Lhotse and icefall read them: the sampler runs inside each loader
worker, over that worker's own shards, so every process reads only the tars it trains on."""

import logging
import random
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from lhotse import CutSet
from lhotse.cut import Cut, MonoCut
from lhotse.dataset import DynamicBucketingSampler
from lhotse.lazy import Dillable
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from asrlab.data.audio import AudioError
from asrlab.data.lhotse.cuts import shar_cuts
from asrlab.data.lhotse.loader import SamplerOf, one_line

log = logging.getLogger(__name__)

Fields = dict[str, list[str]]
"""Each Shar field's shard files (`cuts`, `recording`, ...), in shard order."""


class StandIns(Dillable):
    """Cuts with these durations and nothing else (ids: their positions), shard after shard:
    all of a cut that a sampler counting batches reads, without parsing the cuts' manifests."""

    def __init__(self, durations: list[np.ndarray]) -> None:
        self.durations = durations

    def __iter__(self) -> Iterator[Cut]:
        for shard in self.durations:
            for index, duration in enumerate(shard.tolist()):
                yield MonoCut(str(index), 0.0, duration, 0)


def turns(counts: list[int], start: int, end: int) -> list[int]:
    """The worker of each of the batches `start` to `end` of an epoch whose workers have
    `counts` batches, taken in turn as torch takes them, passing over a worker that has no
    more."""
    taken, order, worker = [0] * len(counts), [], len(counts) - 1
    while len(order) < end and any(t < c for t, c in zip(taken, counts, strict=True)):
        worker = (worker + 1) % len(counts)
        if taken[worker] < counts[worker]:
            taken[worker] += 1
            order.append(worker)
    return order[start:]


class _Slots(IterableDataset):
    """In worker `w` of rank `r` (worker 0 of 1 without workers), slot `r * workers + w`:
    `(w, Batch)` for each batch of its sampler after its first `skip[w]`; or, `counting`,
    `(slot, batches)` for its counterpart on every rank (a worker's Lhotse sampler draws its
    buckets by the worker's id, so its batches are counted where they are drawn), on
    `durations` (each shard's, of the cuts `keep` accepts) where given, else on the cuts'
    metadata."""

    def __init__(
        self,
        dataset: Dataset,
        fields: Fields,
        make_sampler: SamplerOf,
        keep: Callable[[Cut], bool],
        rank: int,
        ranks: int,
        workers: int,
        durations: list[np.ndarray] | None,
    ) -> None:
        self.dataset = dataset
        self.fields = fields
        self.make_sampler = make_sampler
        self.keep = keep
        self.durations = durations
        self.rank = rank
        self.ranks = ranks
        self.workers = workers
        self.epoch = 0
        self.order = list(range(len(fields["cuts"])))
        self.skip = [0] * workers
        self.counting = False

    def sampler(self, slot: int, audio: bool) -> DynamicBucketingSampler | None:
        """This epoch's sampler of the cuts of slot `slot` (one worker of one DDP rank): those of
        every `slots`-th shard of this epoch's order, from the `slot`-th (None: no shard)."""
        shards = self.order[slot :: self.ranks * self.workers]
        if not shards:
            return None
        if not audio and self.durations is not None:
            cuts = CutSet(StandIns([self.durations[i] for i in shards]))
        else:
            fields = {field: [paths[i] for i in shards] for field, paths in self.fields.items()}
            cuts = shar_cuts(fields, audio).filter(self.keep)
        sampler = self.make_sampler(cuts)
        sampler.set_epoch(self.epoch)
        return sampler

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        info = get_worker_info()
        worker = 0 if info is None else info.id
        if self.counting:
            for rank in range(self.ranks):
                slot = rank * self.workers + worker
                yield slot, sum(1 for _ in self.sampler(slot, audio=False) or [])
            return
        sampler = self.sampler(self.rank * self.workers + worker, audio=True)
        for index, cuts in enumerate(sampler or []):
            if index >= self.skip[worker]:  # those before: drawn, their audio not decoded
                yield worker, self.dataset[cuts]


class SharLoader(DataLoader):
    """Batches of Lhotse Shar shards, sampled in the workers, each worker a slot.

    Each epoch the shards are shuffled (by `seed` and the epoch, when `shuffle`) and dealt to
    the slots, `ranks * max(num_workers, 1)` of them; each slot's sampler (`make_sampler`, built
    for one process: rank 0 of 1) batches its shards' cuts that `keep` accepts. torch takes the
    workers' batches in turn (`turns`), so an epoch's order follows from its slots' batch
    counts, counted on the shards' metadata: they give the loader's length and, from the
    batches handed out (the state, as `ResumableLoader`'s), each worker's share of them, which
    a resumed epoch draws again without decoding their audio, handing the rest out in the
    turns they had (given `durations`, each shard's durations of the cuts `keep` accepts, the
    count reads those instead of the metadata). A state saved with other ranks or workers
    restarts its epoch. With `equal_ranks` every rank stops after the batches of the rank with
    fewest (DDP steps in lockstep); the cuts of the others' last batches wait for a later epoch.
    """

    def __init__(
        self,
        dataset: Dataset,
        fields: Fields,
        make_sampler: SamplerOf,
        keep: Callable[[Cut], bool],
        shuffle: bool,
        seed: int,
        rank: int,
        world_size: int,
        equal_ranks: bool,
        num_workers: int,
        durations: list[np.ndarray] | None = None,
    ) -> None:
        workers = max(num_workers, 1)
        self.slots = _Slots(
            dataset, fields, make_sampler, keep, rank, world_size, workers, durations
        )
        generator = torch.Generator().manual_seed(seed)
        super().__init__(self.slots, batch_size=None, num_workers=num_workers, generator=generator)
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.equal_ranks = equal_ranks
        self.workers = workers
        self._counts: dict[int, list[int]] = {}
        self._resume = 0
        self._handed_out = 0
        self.set_epoch(0)

    @property
    def epoch(self) -> int:
        return self.slots.epoch

    def set_epoch(self, epoch: int) -> None:
        """Shuffles the shards for `epoch`; the next iteration starts it from its first batch."""
        order = list(range(len(self.slots.order)))
        if self.shuffle:
            random.Random(self.seed + epoch).shuffle(order)
        self.slots.epoch, self.slots.order = epoch, order
        self._resume = 0

    def slot_batches(self) -> list[int]:
        """Batches of each slot this epoch (every rank's), counted in workers like the loader's."""
        if self.epoch not in self._counts:
            self.slots.counting = True
            try:
                counted = dict(
                    DataLoader(
                        self.slots,
                        batch_size=None,
                        num_workers=self.num_workers,
                        generator=torch.Generator().manual_seed(self.seed),
                    )
                )
            finally:
                self.slots.counting = False
            self._counts[self.epoch] = [counted[slot] for slot in range(len(counted))]
        return self._counts[self.epoch]

    def _own(self) -> list[int]:
        return self.slot_batches()[self.rank * self.workers : (self.rank + 1) * self.workers]

    def __len__(self) -> int:
        counts = self.slot_batches()
        ranks = [counts[r * self.workers : (r + 1) * self.workers] for r in range(self.world_size)]
        return min(map(sum, ranks)) if self.equal_ranks else sum(ranks[self.rank])

    def __iter__(self) -> Iterator[Any]:
        self._handed_out, self._resume = self._resume, 0
        limit = len(self) if self.equal_ranks and self.world_size > 1 else None
        for worker in turns(self._own(), 0, self._handed_out) if self._handed_out else []:
            self.slots.skip[worker] += 1
        pairs = super().__iter__()  # the workers start here, with the skips
        batches = (
            _in_turn(pairs, turns(self._own(), self._handed_out, sum(self._own())))
            if self._handed_out
            else (batch for _, batch in pairs)
        )
        try:
            for batch in batches:
                if limit is not None and self._handed_out >= limit:
                    break
                self._handed_out += 1
                yield batch
        except AudioError as err:
            raise one_line(err) from None
        finally:
            self.slots.skip = [0] * self.workers

    def state_dict(self) -> dict[str, Any]:
        """`{"epoch", "batches_yielded", "slots"}`: the epoch, how many of its batches this
        loader handed out, and its slots as `[ranks, workers]`."""
        return {
            "epoch": self.epoch,
            "batches_yielded": self._handed_out,
            "slots": [self.world_size, self.workers],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue `state["epoch"]` after its first `state["batches_yielded"]` batches."""
        self.set_epoch(int(state.get("epoch", self.epoch)))
        if state.get("slots") != [self.world_size, self.workers]:
            log.warning(
                "the checkpoint's loader position was saved with other ranks or data.num_workers "
                "(slots %s, here [%d, %d]): epoch %d restarts from its first batch",
                state.get("slots"),
                self.world_size,
                self.workers,
                self.epoch,
            )
            return
        self._resume = int(state["batches_yielded"])


def _in_turn(batches: Iterator[tuple[int, Any]], order: list[int]) -> Iterator[Any]:
    """The batches of `(worker, batch)` pairs in the workers' `order`, holding back those that
    come early (torch starts every iteration at worker 0)."""
    held: dict[int, deque] = {}
    wanted = iter(order)
    worker = next(wanted, None)
    for source, batch in batches:
        held.setdefault(source, deque()).append(batch)
        while worker is not None and held.get(worker):
            yield held[worker].popleft()
            worker = next(wanted, None)
