import time

import numpy as np
import pytest
import torch.distributed as dist
from torch.utils.data import DataLoader

from asrlab.data.sampler import BucketBatchSampler, padding_fraction


def _durations(n: int, seed: int = 0) -> np.ndarray:
    """Skewed utterance lengths in feature frames (100 per second): lognormal, 0.5 s to 30 s."""
    seconds = np.random.default_rng(seed).lognormal(np.log(4.0), 0.6, n).clip(0.5, 30.0)
    return (seconds * 100).astype(np.int64)


LENGTHS = _durations(2000)
CONFIGS = {
    "frames": {"max_frames_per_batch": 8000},
    "count": {"batch_size": 16},
    "both": {"max_frames_per_batch": 8000, "batch_size": 8},
    "oversize": {"max_frames_per_batch": 1500, "num_buckets": 7},
}


def _epoch(sampler: BucketBatchSampler, epoch: int = 0) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_every_index_once_per_epoch_and_len_matches(config: dict, shuffle: bool) -> None:
    sampler = BucketBatchSampler(LENGTHS, shuffle=shuffle, **config)
    for epoch in (0, 1):
        batches = _epoch(sampler, epoch)
        assert len(batches) == len(sampler)
        assert all(batches)
        assert sorted(i for b in batches for i in b) == list(range(len(LENGTHS)))


def test_frame_budget_holds_and_oversize_items_come_alone() -> None:
    budget = 1500  # 15 s: the tail of the distribution is longer
    oversize = set(np.flatnonzero(LENGTHS > budget).tolist())
    assert oversize
    batches = _epoch(BucketBatchSampler(LENGTHS, max_frames_per_batch=budget))
    for batch in batches:
        if oversize & set(batch):
            assert len(batch) == 1
        else:
            assert len(batch) * LENGTHS[batch].max() <= budget
    assert sum(len(b) == 1 and b[0] in oversize for b in batches) == len(oversize)


def test_batch_size_caps_the_count() -> None:
    for config in ({"batch_size": 16}, {"batch_size": 5, "max_frames_per_batch": 100_000}):
        batches = _epoch(BucketBatchSampler(LENGTHS, **config))
        assert max(map(len, batches)) == config["batch_size"]


def test_same_seed_and_epoch_repeat_other_epochs_and_seeds_differ() -> None:
    def make(seed: int) -> BucketBatchSampler:
        return BucketBatchSampler(LENGTHS, max_frames_per_batch=8000, seed=seed)

    first = _epoch(make(0), 3)
    assert _epoch(make(0), 3) == first
    sampler = make(0)
    assert _epoch(sampler, 4) != first and _epoch(sampler, 3) == first
    assert _epoch(make(1), 3) != first


def test_no_shuffle_is_a_stable_sort_by_length() -> None:
    lengths = np.array([5, 3, 5, 1, 3, 5, 9, 1])
    sampler = BucketBatchSampler(lengths, batch_size=3, num_buckets=2, shuffle=False)
    batches = _epoch(sampler, 0)
    assert [i for b in batches for i in b] == [3, 7, 1, 4, 0, 2, 5, 6]
    assert _epoch(sampler, 5) == batches


def test_buckets_pad_far_less_than_random_batches() -> None:
    lengths = _durations(20_000, seed=1)
    bucketed = _epoch(BucketBatchSampler(lengths, max_frames_per_batch=20_000))
    rng = np.random.default_rng(0)
    shuffled = np.array_split(rng.permutation(len(lengths)), len(bucketed))
    bucketed_pad = padding_fraction(bucketed, lengths)
    random_pad = padding_fraction(shuffled, lengths)
    print(f"padding: bucketed {bucketed_pad:.3f}, random {random_pad:.3f}")
    assert bucketed_pad < 0.1 and random_pad > 0.4


def test_padding_fraction_counts_padded_frames() -> None:
    lengths = [4, 2, 3, 3]
    assert padding_fraction([[0, 1], [2, 3]], lengths) == pytest.approx(2 / 14)
    assert padding_fraction([], lengths) == 0.0


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("replicas", [2, 3])
def test_ranks_split_the_global_batch_list(replicas: int, drop_last: bool) -> None:
    kwargs = {"max_frames_per_batch": 8000, "seed": 7, "drop_last": drop_last}
    full = _epoch(BucketBatchSampler(LENGTHS, **kwargs), 2)
    assert len(full) % replicas  # the uneven case: padded or dropped
    ranks = [
        BucketBatchSampler(LENGTHS, num_replicas=replicas, rank=r, **kwargs)
        for r in range(replicas)
    ]
    per_rank = [_epoch(s, 2) for s in ranks]
    assert len({len(s) for s in ranks} | {len(b) for b in per_rank}) == 1
    seen = [tuple(b) for batches in per_rank for b in batches]
    if drop_last:
        assert len(set(seen)) == len(seen) == len(full) // replicas * replicas
        assert len({i for b in seen for i in b}) == sum(map(len, seen))
    else:
        padding = -len(full) % replicas
        assert len(seen) == len(full) + padding
        assert set(seen) == {tuple(b) for b in full}
        assert sorted(seen) == sorted(map(tuple, full + full[:padding]))


def test_rank_and_world_size_default_to_torch_distributed(monkeypatch) -> None:
    assert BucketBatchSampler(LENGTHS, batch_size=8).num_replicas == 1
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda: 4)
    monkeypatch.setattr(dist, "get_rank", lambda: 3)
    sampler = BucketBatchSampler(LENGTHS, batch_size=8)
    assert (sampler.num_replicas, sampler.rank) == (4, 3)


def test_resume_yields_exactly_the_remaining_batches() -> None:
    def make() -> BucketBatchSampler:
        return BucketBatchSampler(LENGTHS, max_frames_per_batch=8000, num_replicas=2, rank=1)

    sampler = make()
    full = _epoch(sampler, 5)
    sampler.set_epoch(5)
    it = iter(sampler)
    seen = [next(it) for _ in range(10)]
    state = sampler.state_dict()
    assert state == {"epoch": 5, "batches_yielded": 10}
    resumed = make()
    resumed.load_state_dict(state)
    resumed.set_epoch(5)  # as Lightning does at the start of the resumed epoch
    rest = list(resumed)
    assert seen + rest == full
    assert resumed.state_dict() == {"epoch": 5, "batches_yielded": len(full)}
    assert list(resumed) == full  # the skip applies once
    resumed.load_state_dict(state)
    resumed.set_epoch(6)  # a new epoch starts from its first batch
    assert resumed.state_dict()["batches_yielded"] == 0 and len(list(resumed)) == len(full)


def test_works_as_dataloader_batch_sampler_and_lightning_sets_its_epoch() -> None:
    from lightning_fabric.utilities.data import _set_sampler_epoch

    sampler = BucketBatchSampler(LENGTHS, batch_size=32)
    loader = DataLoader(range(len(LENGTHS)), batch_sampler=sampler)
    _set_sampler_epoch(loader, 3)  # what the fit loop calls at each epoch start
    assert sampler.epoch == 3
    assert [b.tolist() for b in loader] == _epoch(sampler, 3)
    assert len(loader) == len(sampler)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="max_frames_per_batch, batch_size"):
        BucketBatchSampler(LENGTHS)
    with pytest.raises(ValueError, match="integers"):
        BucketBatchSampler([1.5, 2.0], batch_size=2)
    with pytest.raises(ValueError, match="rank"):
        BucketBatchSampler(LENGTHS, batch_size=2, num_replicas=2, rank=2)
    assert list(BucketBatchSampler([], batch_size=2)) == []


def test_a_million_items_are_fast() -> None:
    lengths = _durations(1_000_000)
    start = time.perf_counter()
    sampler = BucketBatchSampler(lengths, max_frames_per_batch=50_000, num_replicas=2, rank=0)
    first = next(iter(sampler))
    elapsed = time.perf_counter() - start
    print(f"1M items: {len(sampler)} batches per rank, built in {elapsed:.2f} s")
    assert first and elapsed < 3.0
