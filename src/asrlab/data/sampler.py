"""Length-bucketed batches with a frame budget, reshuffled per epoch and split across DDP ranks."""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch.distributed as dist
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of items of similar length, for ``DataLoader(dataset, batch_sampler=...)``.

    Items are sorted by length and cut into ``num_buckets`` buckets holding about equal numbers
    of frames. Each bucket has a fixed batch size: the most items of the bucket's longest length
    that fit ``max_frames_per_batch`` (a batch costs ``len(batch) * max(lengths in batch)``),
    capped by ``batch_size``. An item longer than ``max_frames_per_batch`` is never dropped: such
    items get a bucket of their own and each forms a batch of one. Each bucket ends in one partial
    batch, so keep ``num_buckets`` well below the number of batches.

    Each epoch (``set_epoch``), items within a bucket and the order of batches are shuffled by a
    generator seeded with ``(seed, epoch)``. With ``shuffle=False`` batches follow a stable sort
    by length, shortest first. Every rank builds the same global batch list and takes every
    ``num_replicas``-th batch from ``rank``; the list is padded with its first batches to a
    multiple of ``num_replicas`` (or truncated when ``drop_last``), so all ranks yield the same
    number of batches. Under Lightning with several devices, set
    ``Trainer(use_distributed_sampler=False)``: this sampler does the splitting itself.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        max_frames_per_batch: int | None = None,
        batch_size: int | None = None,
        num_buckets: int = 20,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        lengths = np.asarray(lengths)
        if lengths.ndim != 1 or (lengths.size and not np.issubdtype(lengths.dtype, np.integer)):
            raise ValueError("lengths must be a 1-D sequence of integers")
        if lengths.size and lengths.min() < 0:
            raise ValueError("lengths must be non-negative")
        if max_frames_per_batch is None and batch_size is None:
            raise ValueError("give max_frames_per_batch, batch_size or both")
        for name, value in (
            ("max_frames_per_batch", max_frames_per_batch),
            ("batch_size", batch_size),
            ("num_buckets", num_buckets),
        ):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        distributed = dist.is_available() and dist.is_initialized()
        if num_replicas is None:
            num_replicas = dist.get_world_size() if distributed else 1
        if rank is None:
            rank = dist.get_rank() if distributed else 0
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas})")

        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self._items = np.argsort(lengths, kind="stable")
        self._bounds = _bucket_bounds(lengths[self._items], max_frames_per_batch, num_buckets)
        bucket_max = np.maximum(lengths[self._items[self._bounds[1:] - 1]], 1)
        sizes = np.full(len(bucket_max), batch_size or max(len(lengths), 1))
        if max_frames_per_batch is not None:
            sizes = np.maximum(np.minimum(sizes, max_frames_per_batch // bucket_max), 1)
        # Batch b is self._items[starts[b]:starts[b + 1]] (after this epoch's in-bucket shuffle).
        self._starts = np.concatenate(
            [
                np.arange(lo, hi, size)
                for lo, hi, size in zip(self._bounds[:-1], self._bounds[1:], sizes, strict=True)
            ]
            + [[len(lengths)]]
        ).astype(np.int64)
        num_batches = len(self._starts) - 1
        if not drop_last:
            num_batches += num_replicas - 1  # round up
        self._per_rank = num_batches // num_replicas
        self._resume_at = 0
        self._yielded = 0

    @property
    def sampler(self) -> "BucketBatchSampler":
        """Itself: Lightning calls ``set_epoch`` on ``batch_sampler.sampler``, not on this."""
        return self

    @property
    def resume_position(self) -> int:
        """Batches of this epoch that the next iteration skips (set by `load_state_dict`)."""
        return self._resume_at

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose shuffle to use; a new epoch forgets any resume position."""
        if epoch != self.epoch:
            self._resume_at = self._yielded = 0
        self.epoch = epoch

    def __len__(self) -> int:
        """Batches this rank yields per epoch."""
        return self._per_rank

    def __iter__(self) -> Iterator[list[int]]:
        items, order = self._epoch_plan()
        start, self._resume_at = self._resume_at, 0
        for k in range(start, len(order)):
            self._yielded = k + 1
            yield items[self._starts[order[k]] : self._starts[order[k] + 1]].tolist()

    def _epoch_plan(self) -> tuple[np.ndarray, np.ndarray]:
        """Items in batch layout for this epoch, and the global batch ids this rank yields."""
        num_batches = len(self._starts) - 1
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            items = self._items.copy()
            for lo, hi in zip(self._bounds[:-1], self._bounds[1:], strict=True):
                rng.shuffle(items[lo:hi])
            order = rng.permutation(num_batches)
        else:
            items, order = self._items, np.arange(num_batches)
        # np.resize repeats the list from its start to pad, or truncates for drop_last.
        order = np.resize(order, self._per_rank * self.num_replicas)
        return items, order[self.rank :: self.num_replicas]

    def state_dict(self) -> dict[str, int]:
        """The epoch and how many of its batches this sampler has yielded.

        With ``num_workers > 0`` a DataLoader draws batches ahead of the training step; to resume
        exactly, store the number of batches actually trained on as ``batches_yielded`` instead
        (``asrlab.data.loader.ResumableLoader`` does).
        """
        return {"epoch": self.epoch, "batches_yielded": self._yielded}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue ``state["epoch"]``: the next iteration skips the batches already yielded."""
        self.epoch = int(state["epoch"])
        self._resume_at = self._yielded = int(state["batches_yielded"])


def _bucket_bounds(
    sorted_lengths: np.ndarray, max_frames: int | None, num_buckets: int
) -> np.ndarray:
    """Bucket edges in the sorted order: equal frame totals, oversize items in a last bucket."""
    n = len(sorted_lengths)
    fit = n if max_frames is None else int(np.searchsorted(sorted_lengths, max_frames, "right"))
    cuts: np.ndarray | list[int] = []
    if fit:
        total = np.cumsum(sorted_lengths[:fit], dtype=np.int64)
        cuts = np.searchsorted(total, total[-1] * np.arange(1, num_buckets) / num_buckets, "right")
    return np.unique(np.concatenate([[0], cuts, [fit, n]]).astype(np.int64))


def padding_fraction(
    batches: Iterable[Sequence[int]], lengths: Sequence[int] | np.ndarray
) -> float:
    """Share of padding among all frames of the padded batches (0 when nothing is padded)."""
    lengths = np.asarray(lengths)
    batches = [b for b in batches if len(b)]
    if not batches:
        return 0.0
    sizes = np.fromiter(map(len, batches), dtype=np.int64, count=len(batches))
    batch_lengths = lengths[np.concatenate(batches)].astype(np.int64)
    maxes = np.maximum.reduceat(batch_lengths, np.cumsum(sizes) - sizes)
    padded = int((sizes * maxes).sum())
    return 1.0 - int(batch_lengths.sum()) / padded if padded else 0.0
