"""Bootstrap confidence intervals of a WER over utterances.

An utterance contributes a pair (word errors, reference words); a resample draws as many
utterances as there are, with replacement, and its WER is the ratio of the sums. The same
resample indices applied to two systems' pairs give paired resamples (Bisani and Ney, 2004,
"Bootstrap estimates for confidence intervals in ASR performance evaluation").
"""

from collections.abc import Sequence
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


_TIE = 1e-12  # a difference this small is a tie, whatever order the sums were taken in


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
    they share, indices (R, N) as `resample_indices` draws them."""
    systems = np.atleast_2d(np.asarray(errors, dtype=np.float64))
    base = np.asarray(baseline, dtype=np.float64)
    return replicate_differences(list(systems[:, None, :]), base[None], words, indices, confidence)


def replicate_differences(
    errors: Sequence[ArrayLike],
    baseline: ArrayLike,
    words: ArrayLike,
    indices: np.ndarray,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[PairedDifference]:
    """Each of K systems against the baseline when each is trained with several seeds: errors
    K arrays (S_k, N), one row of per-utterance word errors per seed, baseline (S_0, N), words
    (N,), indices (R, N). Every resample draws each system's seeds with replacement (its own
    draw, `seed`ed; a system of one seed draws it every time) and averages their errors, then
    takes the utterances of `indices`, the same for all: the interval covers the seeds' spread
    as well as the test set's. The difference is of the mean WER over seeds. The sums are
    products of the (R, N) draw counts with the (N, S) errors, weighted by the seed draws."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    matrices = [np.atleast_2d(np.asarray(e, dtype=np.float64)) for e in [baseline, *errors]]
    words = np.asarray(words, dtype=np.float64)
    shapes = {m.shape[1:] for m in matrices} | {words.shape, indices.shape[1:]}
    if len(shapes) != 1 or words.ndim != 1 or indices.ndim != 2:
        raise ValueError(
            "errors K x (S, N), baseline (S, N), words (N,) and indices (R, N) needed: "
            f"{[m.shape for m in matrices]}, {words.shape}, {indices.shape}"
        )
    counts = resample_counts(indices)
    totals = np.maximum(counts @ words, 1.0)  # (R,)
    rng = np.random.default_rng(seed)
    wers = []
    for matrix in matrices:
        replicates = matrix.shape[0]
        draws = resample_counts(rng.integers(0, replicates, size=(len(indices), replicates)))
        per_seed = counts @ matrix.T  # (R, S): each seed's errors in each resample
        wers.append((draws * per_seed).sum(axis=1) / replicates / totals)
    diffs = np.column_stack(wers[1:]) - wers[0][:, None]  # (R, K)
    tail = 100 * (1 - confidence) / 2
    lows, highs = np.percentile(diffs, [tail, 100 - tail], axis=0)
    means = [m.sum(axis=1).mean() for m in matrices]
    deltas = [(mean - means[0]) / max(words.sum(), 1.0) for mean in means[1:]]
    improved = (diffs < -_TIE).mean(axis=0)
    return [
        PairedDifference(float(d), float(lo), float(hi), float(p))
        for d, lo, hi, p in zip(deltas, lows, highs, improved, strict=True)
    ]
