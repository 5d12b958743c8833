"""DeepSpeech2 encoder (Amodei et al. 2016) as deepspeech.pytorch builds it."""

import math
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from asrlab.model.encoders.conv2d import FrameConvs, MaskedConv2d
from asrlab.model.encoders.masking import length_mask, strided_lengths, zero_padding
from asrlab.model.encoders.quartznet import MaskedBatchNorm1d

RNNS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU}


class ConvBatchNorm2d(nn.Module):
    """Conv2d over (time, freq) -> batch norm of valid frames -> hardtanh(0, 20)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        stride: tuple[int, int],
    ) -> None:
        super().__init__()
        self.conv = MaskedConv2d(in_channels, out_channels, kernel_size, stride)
        self.norm = MaskedBatchNorm1d(out_channels)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, C, T, F), lengths: (B,) -> (B, C', T', F'), (B,) new lengths."""
        x, lengths = self.conv(x, lengths)
        valid = length_mask(lengths.to(x.device), x.size(2))
        valid = valid.unsqueeze(-1).expand(-1, -1, x.size(3)).flatten(1)  # (B, T' * F')
        x = self.norm(x.flatten(2), valid).view_as(x)
        return F.hardtanh(x, 0.0, 20.0), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return self.conv.output_frames(n)


class BatchRNN(nn.Module):
    """Optional batch norm of the valid frames' features, then a bidirectional RNN over packed
    sequences whose two directions are summed."""

    def __init__(self, input_size: int, hidden_size: int, rnn: str, norm: bool) -> None:
        super().__init__()
        self.norm = MaskedBatchNorm1d(input_size) if norm else None
        self.rnn = RNNS[rnn](input_size, hidden_size, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """x: (B, T, H_in), lengths: (B,) -> (B, T, hidden_size), zero beyond the lengths."""
        if self.norm is not None:
            valid = length_mask(lengths.to(x.device), x.size(1))
            x = self.norm(x.transpose(1, 2), valid).transpose(1, 2)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.size(1))
        return h.unflatten(-1, (2, -1)).sum(2)


class DeepSpeech2Encoder(nn.Module):
    """2-D convolutions, then bidirectional RNNs, then batch norm (deepspeech.pytorch's model).

    deepspeech.pytorch's default (LibriSpeech, 161 spectrogram bins): convolutions of 32
    channels with (time, frequency) kernels (11, 41) and (11, 21), strides (2, 2) and (1, 2),
    five bidirectional LSTMs of 1024 units: with its 29-character output layer, 86.6M
    parameters. Every RNN but the first reads batch-normalised features; the last batch norm
    is the one deepspeech.pytorch puts before its output layer. Batch norm statistics count
    valid frames only, padding is zeroed before every convolution and the RNNs pack their
    input, so outputs do not depend on padding.

    Args:
        input_dim: features per input frame F.
        conv_channels: output channels of each convolution.
        kernel_sizes: (time, frequency) kernel of each convolution.
        time_strides: time stride of each convolution; T' = ceil(T / prod(time_strides)) for
            odd time kernels.
        freq_strides: frequency stride of each convolution.
        hidden_size: RNN units per direction; the output is this wide (directions summed).
        num_layers: stacked bidirectional RNNs.
        rnn: "lstm" or "gru".
    """

    stride_argument = "time_strides"

    def __init__(
        self,
        input_dim: int,
        conv_channels: Sequence[int] = (32, 32),
        kernel_sizes: Sequence[Sequence[int]] = ((11, 41), (11, 21)),
        time_strides: Sequence[int] = (2, 1),
        freq_strides: Sequence[int] = (2, 2),
        hidden_size: int = 256,
        num_layers: int = 3,
        rnn: str = "lstm",
    ) -> None:
        super().__init__()
        if rnn not in RNNS:
            raise ValueError(f"encoder.rnn must be one of {sorted(RNNS)}, got {rnn!r}")
        convs: list[nn.Module] = []
        channels, freq = 1, input_dim
        layers = zip(conv_channels, kernel_sizes, time_strides, freq_strides, strict=True)
        for out_channels, (k_time, k_freq), t_stride, f_stride in layers:
            convs.append(
                ConvBatchNorm2d(channels, out_channels, (k_time, k_freq), (t_stride, f_stride))
            )
            channels = out_channels
            freq = strided_lengths(freq, k_freq, f_stride, 2 * (k_freq // 2))
        self.convs = FrameConvs(convs)
        self.rnns = nn.ModuleList(
            BatchRNN(channels * freq if i == 0 else hidden_size, hidden_size, rnn, norm=i > 0)
            for i in range(num_layers)
        )
        self.norm = MaskedBatchNorm1d(hidden_size)
        self.output_dim = hidden_size
        self.stride = math.prod(time_strides)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, T', hidden_size), (B,) out lengths.

        Outputs beyond each length are zero.
        """
        x, lengths = self.convs(x, lengths)
        for rnn in self.rnns:
            x = rnn(x, lengths)
        valid = length_mask(lengths.to(x.device), x.size(1))
        x = self.norm(x.transpose(1, 2), valid).transpose(1, 2)
        return zero_padding(x, lengths), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return self.convs.output_frames(n)
