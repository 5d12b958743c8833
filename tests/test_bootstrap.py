"""The WER bootstrap against exact enumeration, and the per-utterance errors it resamples."""

import itertools

import numpy as np
import pytest
import torch
from torchmetrics.text import WordErrorRate

from asrlab.model.metrics import UtteranceErrors
from asrlab.training.bootstrap import resample_indices, resampled_wers, wer_interval

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


def test_utterance_errors_add_up_to_the_logged_wer() -> None:
    refs = ["one two three", "four", "five six", "seven eight nine zero"]
    hyps = ["one two tree", "", "five six six", "seven eight nine zero"]
    metric = UtteranceErrors()
    metric.update(hyps[:2], refs[:2])
    metric.update(hyps[2:], refs[2:])
    errors, words = metric.compute()
    assert errors.tolist() == [1, 1, 1, 0] and words.tolist() == [3, 1, 2, 4]
    assert errors.sum() / words.sum() == pytest.approx(float(WordErrorRate()(hyps, refs)))


def test_utterance_errors_compute_after_a_sync_across_processes() -> None:
    """Syncing ("cat") turns each list state into one tensor, as under DDP."""
    metric = UtteranceErrors()
    metric.errors, metric.words = torch.tensor([1, 0, 2]), torch.tensor([3, 4, 5])
    errors, words = metric.compute()
    assert errors.tolist() == [1, 0, 2] and words.tolist() == [3, 4, 5]
    assert [t.numel() for t in UtteranceErrors().compute()] == [0, 0]
