"""QuartzNet encoder (Kriman et al. 2020): residual blocks of time-channel separable convs."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.model.encoders.masking import length_mask, strided_lengths, zero_padding


class MaskedBatchNorm1d(nn.Module):
    """Batch norm over (B, C, T) whose statistics count valid frames only.

    Training normalises with the mean and variance of the batch's valid frames and updates the
    running estimates (as `nn.BatchNorm1d` does) from them; eval mode applies the running
    estimates, a per-frame affine map. Statistics are computed in float32, which mixed precision
    needs for sums over many frames.
    """

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.momentum = momentum
        self.eps = eps

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        """x: (B, C, T), valid: (B, T) True on valid frames -> (B, C, T)."""
        x32 = x.float()
        if self.training:
            weights = valid.unsqueeze(1).float()
            count = weights.sum()
            mean = (x32 * weights).sum((0, 2)) / count
            var = ((x32 - mean[:, None]) ** 2 * weights).sum((0, 2)) / count
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_var.lerp_(unbiased, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight * torch.rsqrt(var + self.eps)
        return ((x32 - mean[:, None]) * scale[:, None] + self.bias[:, None]).to(x.dtype)


class SeparableConv(nn.Module):
    """Depthwise conv over time -> pointwise conv -> `MaskedBatchNorm1d`.

    Padding is zeroed before the convolutions. A kernel and stride of 1 leave out the depthwise
    conv; a dilation spreads its taps `dilation` frames apart.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.depthwise = (
            nn.Conv1d(
                in_channels,
                in_channels,
                kernel_size,
                stride,
                padding=dilation * (kernel_size // 2),
                dilation=dilation,
                groups=in_channels,
                bias=False,
            )
            if (kernel_size, stride) != (1, 1)
            else nn.Identity()
        )
        self.pointwise = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.norm = MaskedBatchNorm1d(out_channels)
        self.span = dilation * (kernel_size - 1) + 1  # input frames one output frame sees
        self.stride = stride

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, C, T), lengths: (B,) -> (B, C', ceil(T / stride)), (B,) new lengths."""
        x = self.pointwise(self.depthwise(zero_padding(x, lengths, time_dim=2)))
        lengths = self.output_frames(lengths)
        return self.norm(x, length_mask(lengths.to(x.device), x.size(2))), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return strided_lengths(n, self.span, self.stride, self.span - 1)


class QuartzNetBlock(nn.Module):
    """Repeated separable convs with a residual around them.

    `repeats` separable convs with ReLU -> dropout between them; the input through a pointwise
    conv -> norm is added to the last one's output, and ReLU -> dropout follow the sum.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, repeats: int, dropout: float
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            SeparableConv(in_channels if i == 0 else out_channels, out_channels, kernel_size)
            for i in range(repeats)
        )
        self.residual = SeparableConv(in_channels, out_channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """x: (B, C, T), lengths: (B,) -> (B, out_channels, T)."""
        y = x
        for conv in self.convs[:-1]:
            y = self.dropout(F.relu(conv(y, lengths)[0]))
        y = self.convs[-1](y, lengths)[0] + self.residual(x, lengths)[0]
        return self.dropout(F.relu(y))


class QuartzNetEncoder(nn.Module):
    """A strided separable prologue conv, residual blocks, then two epilogue convs.

    The epilogue is a (dilated) separable conv, then a pointwise one; every conv outside the
    blocks is followed by ReLU -> dropout. QuartzNet 5x5 (Kriman et al. 2020, 6.7M parameters):
    a 256-channel prologue of kernel 33, blocks of 256, 256, 512, 512, 512 channels with kernels
    33, 39, 51, 63, 75 and 5 repeats, an epilogue of kernel 87, dilation 2, 512 channels, and
    1024 output channels; 15x5 lists each block three times.
    Padding is zeroed before every convolution and `MaskedBatchNorm1d` keeps it out of the
    normalisation statistics, so outputs do not depend on padding. Batch norm rather than layer
    norm keeps QuartzNet's normalisation, whose running statistics make eval mode per-frame.

    Args:
        input_dim: features per input frame F.
        prologue_channels: output channels of the prologue conv.
        prologue_kernel: odd kernel of the prologue conv.
        stride: stride of the prologue conv; T' = ceil(T / stride).
        block_channels: output channels of each block.
        block_kernels: odd kernel of each block's separable convs.
        repeats: separable convs per block.
        epilogue_kernel: odd kernel of the epilogue's separable conv.
        epilogue_channels: width of the epilogue's separable conv.
        epilogue_dilation: dilation of the epilogue's separable conv.
        output_channels: width of the last, pointwise conv, the output's (null:
            epilogue_channels).
        dropout: dropout after every activation.
    """

    stride_argument = "stride"

    def __init__(
        self,
        input_dim: int,
        prologue_channels: int = 128,
        prologue_kernel: int = 11,
        stride: int = 2,
        block_channels: Sequence[int] = (128, 128, 192, 192, 256),
        block_kernels: Sequence[int] = (11, 15, 19, 23, 27),
        repeats: int = 2,
        epilogue_kernel: int = 29,
        epilogue_channels: int = 256,
        epilogue_dilation: int = 1,
        output_channels: int | None = None,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.prologue = SeparableConv(input_dim, prologue_channels, prologue_kernel, stride)
        blocks: list[nn.Module] = []
        channels = prologue_channels
        for out_channels, kernel_size in zip(block_channels, block_kernels, strict=True):
            blocks.append(QuartzNetBlock(channels, out_channels, kernel_size, repeats, dropout))
            channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        output_channels = output_channels or epilogue_channels
        self.epilogue = nn.ModuleList(
            [
                SeparableConv(
                    channels, epilogue_channels, epilogue_kernel, dilation=epilogue_dilation
                ),
                SeparableConv(epilogue_channels, output_channels, 1),
            ]
        )
        self.dropout = nn.Dropout(dropout)
        self.output_dim = output_channels
        self.stride = stride

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, T', output_dim), (B,) out lengths.

        Outputs beyond each length are zero.
        """
        x, lengths = self.prologue(x.transpose(1, 2), lengths)
        x = self.dropout(F.relu(x))
        for block in self.blocks:
            x = block(x, lengths)
        for conv in self.epilogue:
            x = self.dropout(F.relu(conv(x, lengths)[0]))
        return zero_padding(x.transpose(1, 2), lengths), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return self.prologue.output_frames(n)
