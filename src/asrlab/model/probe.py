"""What a head shows of one utterance in the probe view: figure-ready matrices over its frames."""

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor


class ProbeMatrix(NamedTuple):
    """One picture: `values` (R, T') in [0, 1] over an utterance's T' valid encoder frames, row 0
    at the bottom, labelled by `rows`, drawn white at 0 and black at `black`; `path` (N, 2) the
    (frame, row) points of a best path drawn over it, or None. `name` is its TensorBoard tag,
    `ylabel` what its rows are."""

    name: str
    values: Tensor
    rows: list[str]
    path: Tensor | None
    ylabel: str
    black: float = 1.0


def posteriorgram(log_probs: Tensor, vocab: Sequence[str]) -> ProbeMatrix:
    """CTC log-probs (T', V) of one utterance -> its posteriors (V, T') with the greedy path
    (the best token of every frame)."""
    probs = log_probs.detach().float().cpu().exp()
    best = probs.argmax(dim=1)
    path = torch.stack([torch.arange(len(best)), best], dim=1)
    return ProbeMatrix("posteriorgram", probs.T, list(vocab), path, "token")
