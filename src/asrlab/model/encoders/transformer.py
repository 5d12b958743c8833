"""Transformer encoder: convolutional subsampling, sinusoidal positions, self-attention layers."""

import torch
from torch import Tensor, nn

from asrlab.model.encoders.masking import length_mask, zero_padding
from asrlab.model.encoders.subsampling import ConvSubsampling


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> Tensor:
    """(length, dim) encoding of Vaswani et al.: sines on even features, cosines on odd ones."""
    i = torch.arange(dim, device=device)
    frequencies = torch.pow(10000.0, -(i - i % 2) / dim)
    angles = torch.arange(length, device=device).unsqueeze(1) * frequencies
    return torch.where(i % 2 == 0, angles.sin(), angles.cos())


class TransformerEncoder(nn.Module):
    """`ConvSubsampling` to `d_model`, sinusoidal positions, then pre-norm Transformer layers.

    A layer norm follows the last layer. Attention ignores padded keys through
    `src_key_padding_mask`. Nested tensors are disabled, so the eval-mode fast path keeps the
    padded shape instead of dropping padding frames.

    Args:
        input_dim: features per input frame F.
        d_model: width of the Transformer layers; the output is this wide.
        num_layers: Transformer layers.
        num_heads: attention heads per layer; must divide d_model.
        ffn_dim: hidden width of the feed-forward blocks.
        stride: time subsampling, a power of two; T' = ceil(T / stride).
        subsampling_channels: channels of the subsampling convolutions.
        dropout: dropout after the positional encoding and inside every layer.
    """

    stride_argument = "stride"

    def __init__(
        self,
        input_dim: int,
        d_model: int = 144,
        num_layers: int = 6,
        num_heads: int = 4,
        ffn_dim: int = 576,
        stride: int = 4,
        subsampling_channels: int = 32,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.subsampling = ConvSubsampling(input_dim, d_model, subsampling_channels, stride)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            d_model,
            num_heads,
            ffn_dim,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.layers = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.output_dim = d_model
        self.stride = stride

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, T', d_model), (B,) out lengths; zero beyond them."""
        x, lengths = self.subsampling(x, lengths)
        x = self.dropout(x + sinusoidal_positions(x.size(1), x.size(2), x.device))
        padding = ~length_mask(lengths.to(x.device), x.size(1))
        x = self.layers(x, src_key_padding_mask=padding)
        return zero_padding(x, lengths), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return self.subsampling.output_frames(n)
