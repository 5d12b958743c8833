"""The Conformer encoder runs torchaudio's layers, masking padding ahead of their convolutions."""

import torch
from torchaudio.models import Conformer

from asrlab.model.encoders.conformer import masked_conformer_layer
from asrlab.model.encoders.masking import length_mask


def conformer() -> Conformer:
    torch.manual_seed(0)
    return Conformer(8, num_heads=2, ffn_dim=12, num_layers=2, depthwise_conv_kernel_size=5).eval()


@torch.no_grad()
def test_masked_layers_match_torchaudio_without_padding() -> None:
    model = conformer()
    x = torch.randn(10, 2, 8)  # (T, B, D)
    valid = torch.ones(2, 10, dtype=torch.bool)
    h = x
    for layer in model.conformer_layers:
        h = masked_conformer_layer(layer, h, valid)
    expected, _ = model(x.transpose(0, 1), torch.tensor([10, 10]))
    torch.testing.assert_close(h.transpose(0, 1), expected)


@torch.no_grad()
def test_torchaudio_conformer_leaks_padding_into_valid_frames() -> None:
    """Why `masked_conformer_layer` exists: torchaudio convolves over padding frames."""
    model = conformer()
    lengths = torch.tensor([10, 6])
    x = torch.randn(2, 10, 8)
    x[1, 6:] = 0.0
    alone, _ = model(x[1:, :6], lengths[1:])
    batched, _ = model(x, lengths)
    assert not torch.allclose(batched[1, :6], alone[0], atol=1e-3)

    h = x.transpose(0, 1)
    for layer in model.conformer_layers:
        h = masked_conformer_layer(layer, h, length_mask(lengths, 10))
    torch.testing.assert_close(h[:6, 1], alone[0], atol=1e-5, rtol=1e-5)
