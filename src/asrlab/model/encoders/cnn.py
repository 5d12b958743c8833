"""Convolutional encoder: residual blocks of 1-D convolutions over time."""

import math
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.model.encoders.masking import strided_lengths, zero_padding


class ResidualConvBlock(nn.Module):
    """Conv1d -> LayerNorm over channels -> GELU -> dropout, plus the input as a residual.

    A strided block takes every `stride`-th input frame, the centre of each window, as residual.
    """

    def __init__(self, channels: int, kernel_size: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, stride, padding=kernel_size // 2)
        self.norm = nn.LayerNorm(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, C), lengths: (B,) -> (B, ceil(T / stride), C), (B,) new lengths."""
        x = zero_padding(x, lengths)
        y = self.conv(x.transpose(1, 2)).transpose(1, 2)
        y = self.dropout(F.gelu(self.norm(y)))
        return y + x[:, :: self.conv.stride[0]], self.output_frames(lengths)

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        conv = self.conv
        return strided_lengths(n, conv.kernel_size[0], conv.stride[0], 2 * conv.padding[0])


class CNNEncoder(nn.Module):
    """A linear projection to `channels`, then residual 1-D convolution blocks.

    Padding is zeroed before every convolution, so outputs do not depend on it.

    Args:
        input_dim: features per input frame F.
        channels: width of every block; the output is this wide.
        num_blocks: residual blocks.
        kernel_size: odd temporal kernel of every block.
        strides: strides of the first len(strides) blocks (the others have stride 1), so
            T' = ceil(T / prod(strides)).
        dropout: dropout after each block's activation.
    """

    stride_argument = "strides"

    def __init__(
        self,
        input_dim: int,
        channels: int = 256,
        num_blocks: int = 5,
        kernel_size: int = 5,
        strides: Sequence[int] = (2,),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for residuals to line up, got {kernel_size}")
        if len(strides) > num_blocks:
            raise ValueError(f"{len(strides)} strides given for {num_blocks} blocks")
        block_strides = [*strides, *[1] * (num_blocks - len(strides))]
        self.projection = nn.Linear(input_dim, channels)
        self.blocks = nn.ModuleList(
            ResidualConvBlock(channels, kernel_size, stride, dropout) for stride in block_strides
        )
        self.output_dim = channels
        self.stride = math.prod(strides)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, T', channels), (B,) out lengths; zero beyond them."""
        x = self.projection(x)
        for block in self.blocks:
            x, lengths = block(x, lengths)
        return zero_padding(x, lengths), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        for block in self.blocks:
            n = block.output_frames(n)
        return n
