"""DeepSpeech2-style encoder: 2-D convolutions over (time, frequency), then a bidirectional GRU."""

import math
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.model.encoders.conv2d import FrameConvs, MaskedConv2d
from asrlab.model.encoders.masking import strided_lengths
from asrlab.model.encoders.rnn import GRUEncoder


class ConvBlock2d(nn.Module):
    """Conv2d over (time, freq) -> LayerNorm over channels -> GELU -> dropout."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        stride: tuple[int, int],
        dropout: float,
    ) -> None:
        super().__init__()
        self.conv = MaskedConv2d(in_channels, out_channels, kernel_size, stride)
        self.norm = nn.LayerNorm(out_channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, C, T, F), lengths: (B,) -> (B, C', T', F'), (B,) new lengths."""
        x, lengths = self.conv(x, lengths)
        x = self.norm(x.transpose(1, 3)).transpose(1, 3)
        return self.dropout(F.gelu(x)), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return self.conv.output_frames(n)


class CRNNEncoder(nn.Module):
    """2-D convolution blocks, channels and frequencies flattened per frame, then a `GRUEncoder`.

    Padding frames are zeroed before every convolution and the GRU packs its input, so outputs
    do not depend on padding.

    Args:
        input_dim: features per input frame F.
        conv_channels: output channels of each conv block.
        kernel_size: (time, frequency) kernel of every conv block.
        time_strides: time stride of each conv block; T' = ceil(T / prod(time_strides)) for an
            odd time kernel.
        freq_strides: frequency stride of each conv block.
        hidden_size: GRU units per direction.
        num_layers: stacked GRU layers.
        bidirectional: run a backward GRU too; the output is then 2 * hidden_size wide.
        dropout: dropout after each conv block and between GRU layers.
    """

    stride_argument = "time_strides"

    def __init__(
        self,
        input_dim: int,
        conv_channels: Sequence[int] = (32, 32),
        kernel_size: Sequence[int] = (5, 5),
        time_strides: Sequence[int] = (2, 1),
        freq_strides: Sequence[int] = (2, 2),
        hidden_size: int = 256,
        num_layers: int = 2,
        bidirectional: bool = True,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        kernel = (kernel_size[0], kernel_size[1])
        blocks: list[nn.Module] = []
        channels, freq = 1, input_dim
        strides = zip(time_strides, freq_strides, strict=True)
        for out_channels, stride in zip(conv_channels, strides, strict=True):
            blocks.append(ConvBlock2d(channels, out_channels, kernel, stride, dropout))
            channels = out_channels
            freq = strided_lengths(freq, kernel[1], stride[1], 2 * (kernel[1] // 2))
        self.blocks = FrameConvs(blocks)
        self.rnn = GRUEncoder(
            channels * freq, hidden_size, num_layers, bidirectional, dropout, subsample=1
        )
        self.output_dim = self.rnn.output_dim
        self.stride = math.prod(time_strides)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, T', output_dim), (B,) out lengths.

        Outputs beyond each length are zero.
        """
        return self.rnn(*self.blocks(x, lengths))

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return self.rnn.output_frames(self.blocks.output_frames(n))
