"""The WER bootstrap against exact enumeration, and the per-utterance errors it resamples."""

import itertools

import numpy as np
import pytest
import torch
from torchmetrics.text import CharErrorRate, WordErrorRate

from asrlab.model.metrics import UtteranceErrors
from asrlab.training.bootstrap import (
    paired_differences,
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
