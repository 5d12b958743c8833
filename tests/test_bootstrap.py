"""The WER bootstrap against exact enumeration, and the per-utterance errors it resamples."""

import itertools

import numpy as np
import pytest
import torch
from torchmetrics.text import CharErrorRate, WordErrorRate

from asrlab.model.metrics import UtteranceErrors
from asrlab.training.bootstrap import (
    paired_differences,
    replicate_differences,
    resample_counts,
    resample_indices,
    resampled_wers,
    wer_interval,
)

ERRORS = np.array([0, 3, 1, 0, 2])
WORDS = np.array([4, 5, 2, 9, 3])


def exact_distribution() -> tuple[np.ndarray, np.ndarray]:
    """Every resample of the 5 utterances (5**5, equally likely): sorted WERs, their CDF."""
    wers = np.sort(
        [
            ERRORS[list(idx)].sum() / WORDS[list(idx)].sum()
            for idx in itertools.product(range(len(ERRORS)), repeat=len(ERRORS))
        ]
    )
    return wers, np.arange(1, len(wers) + 1) / len(wers)


def test_resampled_wers_follow_the_exact_bootstrap_distribution() -> None:
    wers, cdf = exact_distribution()
    sampled = resampled_wers(ERRORS, WORDS, resample_indices(len(ERRORS), 20000, seed=3))
    values, last = np.unique(wers, return_index=True)
    exact_cdf = np.array([cdf[np.searchsorted(wers, v, side="right") - 1] for v in values])
    sampled_cdf = np.searchsorted(np.sort(sampled), values, side="right") / len(sampled)
    assert np.abs(sampled_cdf - exact_cdf).max() < 0.015  # KS bound at 20,000 draws
    assert len(last) > 50  # pairs are resampled together: errors alone would give fewer values


def test_interval_brackets_the_exact_quantiles_and_is_seeded() -> None:
    wers, cdf = exact_distribution()
    low, high = wer_interval(ERRORS, WORDS, resamples=20000, seed=1)
    assert wers[np.searchsorted(cdf, 0.015)] <= low <= wers[np.searchsorted(cdf, 0.035)]
    assert wers[np.searchsorted(cdf, 0.965)] <= high <= wers[np.searchsorted(cdf, 0.985)]
    assert wer_interval(ERRORS, WORDS, seed=1) == wer_interval(ERRORS, WORDS, seed=1)
    assert wer_interval(ERRORS, WORDS, seed=1) != wer_interval(ERRORS, WORDS, seed=2)


def test_interval_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="one length"):
        wer_interval([1, 2], [3])
    with pytest.raises(ValueError, match="confidence"):
        wer_interval(ERRORS, WORDS, confidence=95)
    with pytest.raises(ValueError, match="utterances"):
        wer_interval([], [])


def test_utterance_errors_add_up_to_the_logged_wer_and_cer() -> None:
    refs = ["one two three", "four", "five six", "seven eight nine zero"]
    hyps = ["one two tree", " ", "five six six", "seven eight nine zero"]
    metric = UtteranceErrors()
    metric.update(hyps[:2], refs[:2], ["a:1", "a:2"])
    metric.update(hyps[2:], refs[2:], ["a:3", "a:4"])
    ids, references, counts = metric.compute()
    assert ids == ["a:1", "a:2", "a:3", "a:4"] and references == refs
    errors, words, char_errors, chars = counts.T
    assert errors.tolist() == [1, 1, 1, 0] and words.tolist() == [3, 1, 2, 4]
    assert errors.sum() / words.sum() == pytest.approx(float(WordErrorRate()(hyps, refs)))
    assert char_errors.sum() / chars.sum() == pytest.approx(float(CharErrorRate()(hyps, refs)))
    metric.reset()
    assert metric.compute()[0] == [] and metric.compute()[2].shape == (0, 4)


def test_utterance_errors_compute_after_a_sync_across_processes() -> None:
    """Syncing ("cat") turns each list state into one tensor, as under DDP."""
    metric = UtteranceErrors()
    metric.counts = torch.tensor([[1, 3, 2, 9], [0, 4, 0, 12]])
    assert metric.compute()[2].tolist() == [[1, 3, 2, 9], [0, 4, 0, 12]]


def test_paired_difference_of_a_hand_computed_case() -> None:
    run, base, words = [0, 1, 0], [1, 1, 0], [2, 2, 1]
    indices = np.array([[0, 0, 0], [1, 1, 2], [0, 1, 2], [2, 2, 2]])
    # Resample WERs, run - baseline: 0/6 - 3/6, 2/5 - 2/5, 1/5 - 2/5, 0/3 - 0/3.
    (paired,) = paired_differences([run], base, words, indices, confidence=0.5)
    assert paired.delta == pytest.approx(1 / 5 - 2 / 5)
    # Sorted -0.5, -0.2, 0, 0; the 25th and 75th percentiles interpolate at 0.75 and 2.25.
    assert (paired.low, paired.high) == pytest.approx((-0.5 + 0.75 * 0.3, 0.0))
    assert paired.p_improve == 0.5  # a tie is no improvement


def brute_force(errors: list[int], base: list[int], words: list[int], indices: np.ndarray):
    """Each resample's WER difference, one utterance at a time."""
    diffs = []
    for row in indices.tolist():
        total = sum(words[i] for i in row)
        diffs.append((sum(errors[i] for i in row) - sum(base[i] for i in row)) / max(total, 1))
    return np.array(diffs)


def test_paired_differences_equal_a_brute_force_resampler() -> None:
    rng = np.random.default_rng(7)
    words = rng.integers(0, 9, size=40)
    base = rng.binomial(words, 0.3)
    systems = [rng.binomial(words, p) for p in (0.1, 0.3, 0.5)]
    indices = resample_indices(len(words), 1000, seed=5)
    results = paired_differences(systems, base, words, indices)
    assert [r.p_improve for r in results] != [results[0].p_improve] * 3
    for errors, paired in zip(systems, results, strict=True):
        diffs = brute_force(errors.tolist(), base.tolist(), words.tolist(), indices)
        low, high = np.percentile(diffs, [2.5, 97.5])
        assert (paired.low, paired.high) == pytest.approx((low, high), abs=1e-12)
        assert paired.p_improve == (diffs < 0).mean()
        assert paired.delta == pytest.approx((errors.sum() - base.sum()) / words.sum())
    assert resample_counts(indices).sum(axis=1).tolist() == [len(words)] * 1000


def test_paired_differences_reject_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="indices"):
        paired_differences([[1, 2]], [1, 2], [3, 4], resample_indices(3, 10))
    with pytest.raises(ValueError, match="confidence"):
        paired_differences([[1, 2]], [1, 2], [3, 4], resample_indices(2, 10), confidence=95)


def brute_force_replicates(
    systems: list[np.ndarray], base: np.ndarray, words: np.ndarray, indices: np.ndarray, seed: int
) -> np.ndarray:
    """(R, K) resampled WER differences, one resample at a time: draw each system's seeds in
    the order replicate_differences does (baseline first), average, take the utterances."""
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(m), size=(len(indices), len(m))) for m in [base, *systems]]
    diffs = np.zeros((len(indices), len(systems)))
    for r, row in enumerate(indices):
        wers = [
            m[d[r]].mean(axis=0)[row].sum() / words[row].sum()
            for m, d in zip([base, *systems], draws, strict=True)
        ]
        diffs[r] = [w - wers[0] for w in wers[1:]]
    return diffs


def test_seed_replicates_resample_like_a_brute_force_resampler() -> None:
    rng = np.random.default_rng(3)
    words = rng.integers(1, 9, size=30)
    base = rng.binomial(words, [[0.3], [0.2], [0.4]])  # three seeds
    systems = [rng.binomial(words, [[0.1], [0.5]]), rng.binomial(words, [[0.25]])]
    indices = resample_indices(len(words), 300, seed=5)
    results = replicate_differences(systems, base, words, indices, seed=11)
    diffs = brute_force_replicates(systems, base, words, indices, seed=11)
    for k, paired in enumerate(results):
        low, high = np.percentile(diffs[:, k], [2.5, 97.5])
        assert (paired.low, paired.high) == pytest.approx((low, high), abs=1e-12)
        assert paired.p_improve == (diffs[:, k] < -1e-12).mean()  # ties are no improvement
        mean_wer = systems[k].sum(axis=1).mean() / words.sum()
        assert paired.delta == pytest.approx(mean_wer - base.sum(axis=1).mean() / words.sum())


def test_seeds_that_disagree_widen_the_interval_and_seeds_that_agree_do_not() -> None:
    rng = np.random.default_rng(0)
    words = rng.integers(1, 9, size=400)
    base = rng.binomial(words, 0.3)
    good, bad = rng.binomial(words, 0.15), rng.binomial(words, 0.45)  # mean 0.30: no lever
    indices = resample_indices(len(words), 1000, seed=1)
    (one,) = replicate_differences([np.stack([good, good])], base[None], words, indices)
    (paired,) = paired_differences([good], base, words, indices)
    assert (one.low, one.high) == pytest.approx((paired.low, paired.high))
    (spread,) = replicate_differences([np.stack([good, bad])], base[None], words, indices)
    assert spread.low < -0.12 and spread.high > 0.12  # either seed could have been the run
    assert spread.high - spread.low > 3 * (paired.high - paired.low)
