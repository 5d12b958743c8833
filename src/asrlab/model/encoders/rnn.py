"""Recurrent encoders: stacked (bidirectional) LSTM or GRU over packed sequences."""

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from asrlab.model.encoders.masking import strided_lengths, window_frames
from asrlab.model.encoders.onnx_rnn import onnx_rnn


class RNNEncoder(nn.Module):
    """Frame stacking, an optional linear projection, then a stacked recurrent network.

    The subclasses pick the recurrent layer through `rnn_class`. Sequences are packed, so the
    recurrence never sees padding (in an ONNX export, ONNX's own per-utterance lengths do that).

    Args:
        input_dim: features per input frame F.
        hidden_size: units per direction H.
        num_layers: stacked recurrent layers.
        bidirectional: run a backward recurrence too; the output is then 2 * H wide.
        dropout: dropout between recurrent layers.
        subsample: k consecutive frames are concatenated into one before the recurrence, so
            T' = ceil(T / k); the main lever on speed.
        projection_dim: when set, a linear layer maps the k * F stacked features to this size.
    """

    stride_argument = "subsample"

    rnn_class: type[nn.RNNBase]

    def __init__(
        self,
        input_dim: int,
        hidden_size: int = 192,
        num_layers: int = 2,
        bidirectional: bool = True,
        dropout: float = 0.1,
        subsample: int = 3,
        projection_dim: int | None = None,
    ) -> None:
        super().__init__()
        stacked_dim = input_dim * subsample
        self.projection = (
            nn.Linear(stacked_dim, projection_dim) if projection_dim else nn.Identity()
        )
        self.rnn = self.rnn_class(
            projection_dim or stacked_dim,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        self.output_dim = hidden_size * (2 if bidirectional else 1)
        self.stride = subsample

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, ceil(T / k), output_dim), (B,) ceil(lengths / k).

        Outputs beyond each length are zero.
        """
        k = self.stride
        x, lengths = window_frames(x, lengths, size=k, stride=k, right=k - 1)
        if torch.onnx.is_in_onnx_export():
            return onnx_rnn(self.rnn, self.projection(x), lengths), lengths
        packed = pack_padded_sequence(
            self.projection(x), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        h, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.size(1))
        return h, lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return strided_lengths(n, self.stride, self.stride, self.stride - 1)


class LSTMEncoder(RNNEncoder):
    """`RNNEncoder` with LSTM layers."""

    rnn_class = nn.LSTM


class GRUEncoder(RNNEncoder):
    """`RNNEncoder` with GRU layers."""

    rnn_class = nn.GRU
