"""Bootstrap confidence intervals of a WER over utterances.

An utterance contributes a pair (word errors, reference words); a resample draws as many
utterances as there are, with replacement, and its WER is the ratio of the sums. The same
resample indices applied to two systems' pairs give paired resamples.
"""

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
