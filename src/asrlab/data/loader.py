"""A DataLoader whose place in the epoch goes into every checkpoint, for exact mid-epoch resume."""

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from asrlab.data.audio import AudioError
from asrlab.data.sampler import BucketBatchSampler


class ResumableLoader(DataLoader):
    """Batches of a `BucketBatchSampler`, with `state_dict` / `load_state_dict`.

    Lightning's fit loop saves a training loader's `state_dict()` in each checkpoint and, on
    `fit(ckpt_path=...)`, hands it to `load_state_dict` before the first batch (the
    `LoaderPosition` callback makes sure it does), so a run resumed mid-epoch gets that epoch's
    remaining batches. The position is the sampler's epoch and the batches this loader has handed
    out: those trained on, since Lightning takes a sized loader's batches one at a time. The
    sampler's own count runs ahead by what the workers prefetch.

    Each loader draws its workers' base seed from its own generator (seeded with the sampler's
    seed): from the global one, as by default, starting an iterator on resume would shift the
    random numbers that augmentation and dropout draw next.

    An unusable audio file stops iteration with the dataset's one-line AudioError, not the
    worker's traceback that torch puts in front of it.
    """

    batch_sampler: BucketBatchSampler

    def __init__(self, dataset: Dataset, batch_sampler: BucketBatchSampler, **kwargs: Any) -> None:
        generator = torch.Generator().manual_seed(batch_sampler.seed)
        super().__init__(dataset, batch_sampler=batch_sampler, generator=generator, **kwargs)
        self._epoch = batch_sampler.epoch
        self._handed_out = 0

    def __iter__(self) -> Iterator[Any]:
        # A generator: the sampler's epoch is read at the first batch, after Lightning's set_epoch.
        self._epoch = self.batch_sampler.epoch
        self._handed_out = self.batch_sampler.resume_position
        try:
            for batch in super().__iter__():
                self._handed_out += 1
                yield batch
        except AudioError as err:
            # A worker's error comes back as "Caught AudioError in DataLoader worker process N.
            # Original Traceback ...", its own message on the last line.
            last = str(err).rstrip().splitlines()[-1]
            raise AudioError(last.removeprefix(f"{AudioError.__module__}.AudioError: ")) from None

    def state_dict(self) -> dict[str, int]:
        """`{"epoch", "batches_yielded"}`: the epoch and how many of its batches were handed out."""
        return {"epoch": self._epoch, "batches_yielded": self._handed_out}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue `state["epoch"]` after its first `state["batches_yielded"]` batches."""
        self.batch_sampler.load_state_dict(state)
        self._epoch, self._handed_out = int(state["epoch"]), int(state["batches_yielded"])
