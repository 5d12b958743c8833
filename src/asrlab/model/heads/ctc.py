"""CTC head: encoder states -> token log-probs; CTC loss; a decoder turns log-probs into text."""

from collections.abc import Callable

import torch
from torch import Tensor, nn

from asrlab.data.batch import Batch
from asrlab.model.contracts import Decoder
from asrlab.model.ctc import REDUCTIONS, ctc_loss
from asrlab.model.probe import ProbeMatrix, posteriorgram
from asrlab.text.tokenizer import Tokenizer


class CTCHead(nn.Module):
    """A linear layer to the tokenizer's vocabulary (blank included) and a log-softmax.

    Args:
        input_dim: encoder output width H.
        tokenizer: the run's tokenizer; V = tokenizer.vocab_size.
        decoder: builds the decoder from the tokenizer (a `decoder=...` config, partial).
        reduction: how the loss averages, `mean_token` or `mean_batch` (`model.ctc.ctc_loss`).
    """

    ctc_weight = 1.0

    def __init__(
        self,
        input_dim: int,
        tokenizer: Tokenizer,
        decoder: Callable[..., Decoder],
        reduction: str = "mean_token",
    ) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"head.reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self.linear = nn.Linear(input_dim, tokenizer.vocab_size)
        self.tokenizer = tokenizer
        self.decoder = decoder(tokenizer=tokenizer)

    def forward(self, hidden: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """hidden (B, T', H), lengths (B,) -> log-probs (B, T', V) float32, lengths (B,)."""
        return self.linear(hidden).float().log_softmax(dim=-1), lengths

    def loss(self, scores: Tensor, lengths: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """Mean CTC loss (`reduction`), and the number of utterances too long for their frames."""
        return ctc_loss(
            scores,
            lengths,
            batch.targets,
            batch.target_lengths,
            self.tokenizer.blank_id,
            self.reduction,
        )

    @torch.no_grad()
    def decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        """log-probs (B, T', V), lengths (B,) -> one transcript per utterance."""
        return self.decoder.decode(scores, lengths)

    validation_decode = decode

    def probe_views(self, scores: Tensor, lengths: Tensor) -> list[list[ProbeMatrix]]:
        """log-probs (B, T', V), lengths (B,) -> per utterance its posteriorgram (V, T')."""
        return [
            [posteriorgram(log_probs[:length], self.tokenizer.vocab)]
            for log_probs, length in zip(scores, lengths.tolist(), strict=True)
        ]
