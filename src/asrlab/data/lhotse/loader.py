"""A DataLoader of Lhotse sampler batches whose checkpointed position resumes mid-epoch exactly."""

import copy
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import torch
from lhotse import CutSet
from lhotse.dataset import DynamicBucketingSampler
from torch.utils.data import DataLoader, Dataset, Sampler

from asrlab.data.audio import AudioError

SamplerOf = Callable[[CutSet], DynamicBucketingSampler]
"""The sampler of a CutSet: the cuts with their audio to train on, or their metadata to count."""


def one_line(err: AudioError) -> AudioError:
    """A worker's AudioError as its own one-line message, without the worker's traceback that
    torch puts in front of it."""
    last = str(err).rstrip().splitlines()[-1]
    return AudioError(last.removeprefix(f"{AudioError.__module__}.AudioError: "))


class _Recording(Sampler[CutSet]):
    """The Lhotse sampler's batches; after drawing each, its `state_dict()` goes into `states`.
    Its length is counted on a sampler of the same cuts' metadata (`counted`)."""

    def __init__(self, make: SamplerOf, cuts: CutSet, counted: CutSet, states: deque) -> None:
        self.make = make
        self.sampler = make(cuts)
        self.counted = counted
        self.states = states
        self._lengths: dict[int, int] = {}

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        """Batches of the current epoch, counted on a fresh sampler (cut metadata only)."""
        epoch = self.sampler.epoch
        if epoch not in self._lengths:
            counter = self.make(self.counted)
            counter.set_epoch(epoch)
            self._lengths[epoch] = sum(1 for _ in counter)
        return self._lengths[epoch]

    def __iter__(self) -> Iterator[CutSet]:
        for cuts in self.sampler:
            self.states.append(self.sampler.state_dict())
            yield cuts


class LhotseLoader(DataLoader):
    """Batches of a Lhotse `DynamicBucketingSampler` (run in this process; the workers read the
    audio), with `state_dict` / `load_state_dict` as `asrlab.data.loader.ResumableLoader` has.

    The state is the sampler's `state_dict()` as it was when the last batch handed out (trained
    on) was drawn, not as it is now: the workers draw ahead. Lhotse's `load_state_dict` then
    fast-forwards a fresh sampler through the cut metadata to that batch. Its length is the
    current epoch's batch count (dynamic buckets vary it a little between epochs), counted on
    `counted`, the metadata of `cuts`.
    """

    def __init__(
        self,
        dataset: Dataset,
        make_sampler: SamplerOf,
        cuts: CutSet,
        counted: CutSet,
        seed: int,
        **kwargs: Any,
    ) -> None:
        self._states: deque[dict[str, Any]] = deque()
        self.recording = _Recording(make_sampler, cuts, counted, self._states)
        generator = torch.Generator().manual_seed(seed)
        super().__init__(
            dataset, sampler=self.recording, batch_size=None, generator=generator, **kwargs
        )
        self._state: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        self._states.clear()
        try:
            for batch in super().__iter__():
                self._state = self._states.popleft()
                yield batch
        except AudioError as err:
            raise one_line(err) from None

    def set_epoch(self, epoch: int) -> None:
        self.recording.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        """`{"sampler": ...}`: the Lhotse sampler's state at the last batch handed out (None
        before the first)."""
        return {"sampler": copy.deepcopy(self._state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue after the batches `state` had handed out."""
        if state["sampler"] is not None:
            self._state = copy.deepcopy(state["sampler"])
            self.recording.sampler.load_state_dict(copy.deepcopy(state["sampler"]))
