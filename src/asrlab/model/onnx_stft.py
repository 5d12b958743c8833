"""A spectrogram as one strided convolution with a windowed DFT basis, for `torch.onnx.export`.

The exporter writes `torch.stft` as ONNX's STFT, which onnxruntime computes frame by frame with a
naive DFT for the frontends' non-power-of-two sizes (400 samples at 16 kHz): 80% of the default
model's time, and less precise than torch's FFT. The same DFT as a Conv1d whose kernels are the
window times cosines and sines runs on onnxruntime's GEMM, within ~1e-5 of torch's float64 STFT.
"""

import math

import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from torch import Tensor


def dft_kernels(transform: T.Spectrogram) -> Tensor:
    """(2 * K, 1, n_fft) float32 kernels, K = n_fft // 2 + 1: the real parts of bins 0..K-1,
    then their imaginary parts, each times the window (centred in n_fft, as torch.stft puts it)."""
    n_fft = transform.n_fft
    window = transform.window.double()
    left = (n_fft - len(window)) // 2
    window = F.pad(window, (left, n_fft - len(window) - left))
    samples = torch.arange(n_fft, dtype=torch.float64)
    bins = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    # n * k modulo n_fft keeps the angles small, so float64 cos and sin stay exact.
    angles = 2 * math.pi * torch.remainder(bins[:, None] * samples, n_fft) / n_fft
    kernels = torch.cat([torch.cos(angles), -torch.sin(angles)]) * window
    return kernels.float().unsqueeze(1)


def conv_spectrogram(transform: T.Spectrogram, wave: Tensor) -> Tensor:
    """wave (B, S) float32 -> (B, n_fft // 2 + 1, T): what `transform(wave)` gives, for an
    unpadded, uncentred, unnormalised magnitude (power 1) or power (power 2) spectrogram."""
    if transform.center or transform.pad or transform.normalized or transform.power not in (1, 2):
        raise ValueError(
            "conv_spectrogram takes center=False, pad=0, normalized=False and power 1 or 2"
        )
    spectrum = F.conv1d(wave.unsqueeze(1), dft_kernels(transform), stride=transform.hop_length)
    real, imag = spectrum.chunk(2, dim=1)
    power = real * real + imag * imag
    return power if transform.power == 2 else power.sqrt()
