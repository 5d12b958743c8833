"""Padding helpers shared by the encoders.

A padded batch is a tensor with a time axis of size T and a (B,) tensor of valid lengths; frames
at or beyond an utterance's length are padding. These helpers keep padding from leaking into
valid frames, so that every encoder gives an utterance the same output alone or in a batch.
"""

import torch
import torch.nn.functional as F
from torch import Tensor


def length_mask(lengths: Tensor, max_len: int) -> Tensor:
    """(B,) lengths -> (B, max_len) bool mask, True on valid frames."""
    return torch.arange(max_len, device=lengths.device) < lengths.unsqueeze(1)


def zero_padding(x: Tensor, lengths: Tensor, time_dim: int = 1) -> Tensor:
    """Zero x (B, ..., T, ...) at the frames of its axis `time_dim` beyond each length."""
    mask = length_mask(lengths.to(x.device), x.size(time_dim))
    shape = [1] * x.dim()
    shape[0], shape[time_dim] = mask.shape
    return x.masked_fill(~mask.view(shape), 0.0)


def strided_lengths(
    lengths: Tensor | int, kernel_size: int, stride: int, total_padding: int = 0
) -> Tensor | int:
    """Frames a window of `kernel_size` moved by `stride` yields from `lengths` frames.

    `total_padding` counts the zero frames added at both ends together (2 * padding for a
    PyTorch conv): floor((L + total_padding - kernel_size) / stride) + 1. With an odd kernel and
    `total_padding = kernel_size - 1` this is ceil(L / stride). Works on ints and tensors.
    """
    return (lengths + total_padding - kernel_size) // stride + 1


def window_frames(
    x: Tensor, lengths: Tensor, size: int, stride: int, left: int = 0, right: int = 0
) -> tuple[Tensor, Tensor]:
    """Concatenate windows of `size` consecutive frames taken every `stride` frames.

    x: (B, T, F), padding is zeroed and `left` / `right` zero frames are added at the ends, so a
    window reaching past an utterance sees zeros, as if it were alone.
    Returns (B, T', size * F) with the frames in time order, and the (B,) window counts, where
    T' = strided_lengths(T, size, stride, left + right).
    """
    x = F.pad(zero_padding(x, lengths), (0, 0, left, right))
    windows = x.unfold(1, size, stride).transpose(2, 3).flatten(2)
    return windows, strided_lengths(lengths, size, stride, left + right)
