"""Bootstrap confidence intervals of a WER over utterances.

An utterance contributes a pair (word errors, reference words); a resample draws as many
utterances as there are, with replacement, and its WER is the ratio of the sums. The same
resample indices applied to two systems' pairs give paired resamples (Bisani and Ney, 2004,
"Bootstrap estimates for confidence intervals in ASR performance evaluation").
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def resample_indices(num_utterances: int, resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(resamples, num_utterances) utterance indices drawn with replacement, seeded."""
    if num_utterances < 1 or resamples < 1:
        raise ValueError(f"need utterances and resamples, got {num_utterances}, {resamples}")
    rng = np.random.default_rng(seed)
    return rng.integers(0, num_utterances, size=(resamples, num_utterances))


def resampled_wers(errors: ArrayLike, words: ArrayLike, indices: np.ndarray) -> np.ndarray:
    """(R,) WER of each resample: errors and words (N,) per utterance, indices (R, N)."""
    errors, words = np.asarray(errors, dtype=np.float64), np.asarray(words, dtype=np.float64)
    if errors.shape != words.shape or errors.ndim != 1:
        raise ValueError(
            f"errors and words must be 1-D of one length: {errors.shape}, {words.shape}"
        )
    totals = words[indices].sum(axis=1)
    return errors[indices].sum(axis=1) / np.maximum(totals, 1.0)


def wer_interval(
    errors: ArrayLike,
    words: ArrayLike,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """The percentile bootstrap interval (low, high) of the WER sum(errors) / sum(words)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    indices = resample_indices(len(np.asarray(errors)), resamples, seed)
    wers = resampled_wers(errors, words, indices)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(wers, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class PairedDifference:
    """A system's WER minus the baseline's on the same utterances (fractions): on the whole set,
    its percentile bootstrap interval (low, high), and the share of resamples where the system's
    WER is below the baseline's (the probability of improvement)."""

    delta: float
    low: float
    high: float
    p_improve: float


def resample_counts(indices: np.ndarray) -> np.ndarray:
    """(R, N) how often each resample draws each utterance, from its indices (R, N)."""
    resamples, n = indices.shape
    flat = indices + n * np.arange(resamples)[:, None]
    return np.bincount(flat.ravel(), minlength=resamples * n).reshape(resamples, n)


def paired_differences(
    errors: ArrayLike,
    baseline: ArrayLike,
    words: ArrayLike,
    indices: np.ndarray,
    confidence: float = 0.95,
) -> list[PairedDifference]:
    """Each of K systems against the baseline, resampling utterances with their pairs (errors,
    words): errors (K, N) of the systems, baseline (N,) errors, words (N,) of the references
    they share, indices (R, N) as `resample_indices` draws them. The resamples' sums for all K
    at once are one product of the (R, N) draw counts."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    errors = np.atleast_2d(np.asarray(errors, dtype=np.float64))
    baseline, words = np.asarray(baseline, dtype=np.float64), np.asarray(words, dtype=np.float64)
    shapes = (errors.shape[1:], baseline.shape, words.shape, indices.shape[1:])
    if len(set(shapes)) != 1 or words.ndim != 1 or indices.ndim != 2:
        raise ValueError(
            "errors (K, N), baseline (N,), words (N,) and indices (R, N) needed: "
            f"{errors.shape}, {baseline.shape}, {words.shape}, {indices.shape}"
        )
    counts = resample_counts(indices)
    sums = counts @ np.column_stack([*errors, baseline, words])  # (R, K + 2)
    wers = sums[:, :-1] / np.maximum(sums[:, -1:], 1.0)
    diffs = wers[:, :-1] - wers[:, -1:]  # (R, K)
    tail = 100 * (1 - confidence) / 2
    lows, highs = np.percentile(diffs, [tail, 100 - tail], axis=0)
    deltas = (errors.sum(axis=1) - baseline.sum()) / max(words.sum(), 1.0)
    improved = (diffs < 0).mean(axis=0)
    return [
        PairedDifference(float(d), float(lo), float(hi), float(p))
        for d, lo, hi, p in zip(deltas, lows, highs, improved, strict=True)
    ]
