"""Conformer encoder: convolutional subsampling, then torchaudio's Conformer layers."""

from torch import Tensor, nn
from torchaudio.models import Conformer
from torchaudio.models.conformer import ConformerLayer

from asrlab.model.encoders.masking import length_mask, zero_padding
from asrlab.model.encoders.relative_attention import RelativePositionAttention
from asrlab.model.encoders.subsampling import ConvSubsampling


def masked_conformer_layer(layer: ConformerLayer, x: Tensor, valid: Tensor) -> Tensor:
    """torchaudio's `ConformerLayer.forward` (convolution after attention), padding masked.

    x: (T, B, D), valid: (B, T) True on valid frames -> (T, B, D).
    torchaudio convolves padding frames into valid ones; those frames are not zero even for zero
    inputs (layer norm and pointwise conv biases come before the depthwise conv), so they are
    zeroed right before it. The batch norm after it uses running statistics in eval mode.
    """
    x = x + 0.5 * layer.ffn1(x)
    y = layer.self_attn_layer_norm(x)
    y, _ = layer.self_attn(y, y, y, key_padding_mask=~valid, need_weights=False)
    x = x + layer.self_attn_dropout(y)

    conv = layer.conv_module
    pointwise, glu, depthwise, norm, activation, projection, dropout = conv.sequential
    y = glu(pointwise(conv.layer_norm(x).permute(1, 2, 0)))  # (B, D, T)
    y = depthwise(y.masked_fill(~valid.unsqueeze(1), 0.0))
    x = x + dropout(projection(activation(norm(y)))).permute(2, 0, 1)

    x = x + 0.5 * layer.ffn2(x)
    return layer.final_layer_norm(x)


class ConformerEncoder(nn.Module):
    """`ConvSubsampling` to `d_model`, dropout, then Conformer layers (Gulati et al. 2020).

    The layers are torchaudio's, run by `masked_conformer_layer` so that padding reaches neither
    attention (masked keys) nor the depthwise convolutions (zeroed frames): outputs do not depend
    on padding in eval mode. In training, the convolution modules' batch norm statistics also
    count padding frames, as in torchaudio. torchaudio's attention knows no positions (the
    convolutions give them); `relative_positions` replaces it by the paper's
    `RelativePositionAttention`.

    Args:
        input_dim: features per input frame F.
        d_model: width of the Conformer layers; the output is this wide.
        num_layers: Conformer layers.
        num_heads: attention heads per layer; must divide d_model.
        ffn_dim: hidden width of the feed-forward modules.
        kernel_size: odd kernel of the depthwise convolutions.
        stride: time subsampling, a power of two; T' = ceil(T / stride).
        subsampling_channels: channels of the subsampling convolutions.
        dropout: dropout after subsampling and inside every layer.
        relative_positions: attention with relative sinusoidal positions (Transformer-XL), as
            in the Conformer paper and NeMo, instead of torchaudio's position-free attention.
    """

    stride_argument = "stride"

    def __init__(
        self,
        input_dim: int,
        d_model: int = 144,
        num_layers: int = 4,
        num_heads: int = 4,
        ffn_dim: int = 576,
        kernel_size: int = 15,
        stride: int = 4,
        subsampling_channels: int = 32,
        dropout: float = 0.1,
        relative_positions: bool = False,
    ) -> None:
        super().__init__()
        self.subsampling = ConvSubsampling(input_dim, d_model, subsampling_channels, stride)
        self.dropout = nn.Dropout(dropout)
        self.conformer = Conformer(d_model, num_heads, ffn_dim, num_layers, kernel_size, dropout)
        if relative_positions:
            for layer in self.conformer.conformer_layers:
                layer.self_attn = RelativePositionAttention(d_model, num_heads, dropout)
        self.output_dim = d_model
        self.stride = stride

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, T', d_model), (B,) out lengths; zero beyond them."""
        x, lengths = self.subsampling(x, lengths)
        valid = length_mask(lengths.to(x.device), x.size(1))
        x = self.dropout(x).transpose(0, 1)  # torchaudio's layers take (T', B, d_model)
        for layer in self.conformer.conformer_layers:
            x = masked_conformer_layer(layer, x, valid)
        return zero_padding(x.transpose(0, 1), lengths), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return self.subsampling.output_frames(n)
