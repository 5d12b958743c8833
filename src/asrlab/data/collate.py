"""Pad a list of examples into a Batch."""

import torch
from torch.nn.utils.rnn import pad_sequence

from asrlab.data.batch import Batch
from asrlab.data.dataset import Example


def collate(examples: list[Example]) -> Batch:
    """Zero-pad waveforms (B, S_max) and targets (B, L_max); keep the true lengths."""
    return Batch(
        waves=pad_sequence([e.wave for e in examples], batch_first=True),
        wave_lengths=torch.tensor([len(e.wave) for e in examples], dtype=torch.long),
        targets=pad_sequence([e.tokens for e in examples], batch_first=True),
        target_lengths=torch.tensor([len(e.tokens) for e in examples], dtype=torch.long),
        texts=[e.text for e in examples],
        ids=[e.id for e in examples],
    )
