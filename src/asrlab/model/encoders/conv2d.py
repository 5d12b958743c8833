"""2-D convolutions over (time, frequency) of padded batches, for the CRNN and DeepSpeech2
encoders: padding frames are zeroed before every convolution, so outputs do not depend on them."""

from torch import Tensor, nn

from asrlab.model.encoders.masking import strided_lengths, zero_padding


class MaskedConv2d(nn.Conv2d):
    """Conv2d over (time, frequency) padded by half its kernel, its input's padding frames zeroed
    first (its weights are those of the nn.Conv2d it is)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        stride: tuple[int, int],
    ) -> None:
        padding = (kernel_size[0] // 2, kernel_size[1] // 2)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, C, T, F), lengths: (B,) -> (B, C', T', F'), (B,) new lengths."""
        return super().forward(zero_padding(x, lengths, time_dim=2)), self.output_frames(lengths)

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return strided_lengths(n, self.kernel_size[0], self.stride[0], 2 * self.padding[0])


class FrameConvs(nn.ModuleList):
    """Blocks over (B, C, T, F) with their lengths, in turn, on the features as one channel; the
    channels and frequencies of each output frame flattened."""

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, T', C * F'), (B,) new lengths."""
        x = x.unsqueeze(1)
        for block in self:
            x, lengths = block(x, lengths)
        return x.transpose(1, 2).flatten(2), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        for block in self:
            n = block.output_frames(n)
        return n
