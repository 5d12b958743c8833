"""Convolutional subsampling ahead of attention encoders: 2-D convolutions of stride 2 in time."""

import math

import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.model.encoders.masking import strided_lengths, zero_padding


class ConvSubsampling(nn.Module):
    """Strided 2-D convolutions over (time, frequency), then a linear projection per frame.

    Each of the log2(stride) steps is Conv2d(kernel 3, stride 2, padding 1) -> ReLU; the channels
    and frequencies of each frame are then flattened and projected. Padding frames are zeroed
    before every convolution, so outputs do not depend on them.

    Args:
        input_dim: features per input frame F.
        output_dim: width of the projected output frames.
        channels: output channels of every convolution.
        stride: a power of two; T' = ceil(T / stride).
    """

    def __init__(self, input_dim: int, output_dim: int, channels: int, stride: int) -> None:
        super().__init__()
        if stride < 1 or stride & (stride - 1):
            raise ValueError(f"stride must be a power of two, got {stride}")
        convs: list[nn.Module] = []
        in_channels, freq = 1, input_dim
        for _ in range(int(math.log2(stride))):
            convs.append(nn.Conv2d(in_channels, channels, kernel_size=3, stride=2, padding=1))
            in_channels, freq = channels, strided_lengths(freq, 3, 2, 2)
        self.convs = nn.ModuleList(convs)
        self.projection = nn.Linear(in_channels * freq, output_dim)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, ceil(T / stride), output_dim), (B,) new lengths.

        Frames beyond the new lengths are not zeroed.
        """
        x = x.unsqueeze(1)
        for conv in self.convs:
            x = F.relu(conv(zero_padding(x, lengths, time_dim=2)))
            lengths = self.step_frames(lengths)
        # (B, C, T', F') -> (B, T', C * F')
        return self.projection(x.transpose(1, 2).flatten(2)), lengths

    @staticmethod
    def step_frames(n: int | Tensor) -> int | Tensor:
        """The frames one of the convolutions gives n frames."""
        return strided_lengths(n, 3, 2, 2)

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        for _ in self.convs:
            n = self.step_frames(n)
        return n
