"""Utterance classifier head: pooled encoder states -> one label per utterance, cross-entropy.

For isolated-word data (FSDD, Speech Commands), where each transcript is one of a closed set of
labels. Hypotheses are label texts, so WER and CER apply unchanged; accuracy is their exact
match.
"""

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.data.batch import Batch
from asrlab.model.encoders.masking import length_mask
from asrlab.model.probe import ProbeMatrix
from asrlab.text.tokenizer import Tokenizer

POOLINGS = ("mean", "max", "last")


class ClassifierHead(nn.Module):
    """Pool the valid frames, dropout, then a linear layer over the labels.

    Args:
        input_dim: encoder output width H.
        tokenizer: normalises the labels exactly as the transcripts are normalised.
        labels: the label set C; `head.labels=null` in the config takes the distinct training
            transcripts.
        pooling: "mean" or "max" over valid frames, or "last": the last valid frame's state.
        dropout: dropout on the pooled vector.
    """

    ctc_weight = 0.0

    def __init__(
        self,
        input_dim: int,
        tokenizer: Tokenizer,
        labels: Sequence[str],
        pooling: str = "mean",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"head.pooling must be one of {POOLINGS}, got {pooling!r}")
        self.labels = sorted({tokenizer.normalize(label) for label in labels})
        if len(self.labels) < 2:
            raise ValueError(f"a classifier needs at least two labels, got {self.labels}")
        self.index = {label: i for i, label in enumerate(self.labels)}
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(input_dim, len(self.labels))

    def pool(self, hidden: Tensor, lengths: Tensor) -> Tensor:
        """hidden (B, T', H), lengths (B,) -> (B, H) from valid frames only."""
        lengths = lengths.to(hidden.device)
        if self.pooling == "last":
            return hidden[torch.arange(len(hidden), device=hidden.device), lengths - 1]
        mask = length_mask(lengths, hidden.size(1)).unsqueeze(-1)
        if self.pooling == "max":
            return hidden.masked_fill(~mask, float("-inf")).amax(dim=1)
        return (hidden * mask).sum(dim=1) / lengths.clamp(min=1).unsqueeze(-1)

    def forward(self, hidden: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """hidden (B, T', H), lengths (B,) -> logits (B, C) float32, lengths (B,)."""
        return self.linear(self.dropout(self.pool(hidden, lengths))).float(), lengths

    def targets(self, texts: Sequence[str], device: torch.device) -> Tensor:
        """(B,) label indices; -100 (ignored by the loss) for texts outside the label set."""
        return torch.tensor([self.index.get(t, -100) for t in texts], device=device)

    def loss(self, scores: Tensor, lengths: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """Mean cross-entropy, and the number of utterances whose text is not a label."""
        targets = self.targets(batch.texts, scores.device)
        unknown = (targets < 0).sum()
        if unknown == len(targets):
            return scores.sum() * 0.0, unknown
        return F.cross_entropy(scores, targets), unknown

    @torch.no_grad()
    def decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        """logits (B, C) -> the best label per utterance."""
        return [self.labels[i] for i in scores.argmax(dim=-1).tolist()]

    validation_decode = decode

    def probe_views(self, scores: Tensor, lengths: Tensor) -> list[list[ProbeMatrix]]:
        """No pictures: one label per utterance has no course over its frames."""
        return [[] for _ in range(len(scores))]

    def get_extra_state(self) -> dict[str, Any]:
        return {"labels": self.labels}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        if state["labels"] != self.labels:
            raise ValueError(
                f"checkpoint labels {state['labels']} differ from this head's {self.labels}"
            )
