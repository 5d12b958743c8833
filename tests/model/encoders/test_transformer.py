"""Sinusoidal positions and the shared convolutional subsampling."""

import math

import pytest
import torch

from asrlab.model.encoders.subsampling import ConvSubsampling
from asrlab.model.encoders.transformer import sinusoidal_positions


def test_sinusoidal_positions_interleave_sines_and_cosines() -> None:
    pe = sinusoidal_positions(7, 6, torch.device("cpu"))
    for position in range(7):
        for k in range(3):
            angle = position / 10000 ** (2 * k / 6)
            assert pe[position, 2 * k].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[position, 2 * k + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


@pytest.mark.parametrize("stride", [1, 2, 8])
def test_subsampling_divides_lengths_by_its_stride(stride: int) -> None:
    subsampling = ConvSubsampling(input_dim=5, output_dim=3, channels=2, stride=stride)
    lengths = torch.tensor([17, 9, 1])
    h, out_lengths = subsampling(torch.randn(3, 17, 5), lengths)
    assert out_lengths.tolist() == [-(-n // stride) for n in lengths.tolist()]
    assert h.shape == (3, -(-17 // stride), 3)


def test_subsampling_stride_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        ConvSubsampling(input_dim=5, output_dim=3, channels=2, stride=6)
