"""Greedy CTC decoding: best token per frame, collapse repeats, drop blanks."""

import torch

from asrlab.text.tokenizer import Tokenizer


class GreedyDecoder:
    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        """log_probs (B, T, V), lengths (B,) -> one transcript per utterance."""
        best = log_probs.argmax(dim=-1).cpu()
        texts = []
        for path, length in zip(best, lengths.tolist(), strict=True):
            ids = torch.unique_consecutive(path[:length]).tolist()
            texts.append(" ".join(self.tokenizer.decode(ids).split()))
        return texts
