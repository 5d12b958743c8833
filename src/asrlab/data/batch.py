"""The one batch type that flows from the data module into the model."""

from typing import NamedTuple

import torch


class Batch(NamedTuple):
    """A padded batch of utterances.

    waves: (B, S) float waveforms, zero-padded after each utterance's end; or, with the
        feature cache (data.cache=true), (B, T, F) features.
    wave_lengths: (B,) valid samples (or feature frames) per utterance.
    targets: (B, L) token ids, padded with 0 (the blank id, never a target).
    target_lengths: (B,) valid tokens per utterance.
    texts: the normalised reference transcripts.
    ids: utterance ids (manifest path and line), for logs and reports.
    """

    waves: torch.Tensor
    wave_lengths: torch.Tensor
    targets: torch.Tensor
    target_lengths: torch.Tensor
    texts: list[str]
    ids: list[str]
