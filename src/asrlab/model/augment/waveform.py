"""Waveform augmentation, before the frontend: (waves (B, S), lengths (B,)) -> (waves, lengths).

Training mode only; the identity in eval mode. Randomness comes from the torch global RNG.
"""

from pathlib import Path

import torch
import torchaudio.functional as AF
from torch import Tensor, nn
from torchaudio.transforms import SpeedPerturbation

from asrlab.data.audio import read_audio

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


class SpeedPerturb(nn.Module):
    """Resample the batch by one factor drawn from `factors` (pitch and tempo change together,
    as in Kaldi's speed perturbation); lengths are rescaled to match."""

    def __init__(self, sample_rate: int, factors: tuple[float, ...] = (0.9, 1.0, 1.1)) -> None:
        super().__init__()
        self.perturb = SpeedPerturbation(sample_rate, list(factors))

    def forward(self, waves: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        if not self.training:
            return waves, lengths
        waves, lengths = self.perturb(waves, lengths)
        return waves, lengths.clamp(max=waves.shape[-1])


class AddNoise(nn.Module):
    """Add noise to each utterance with probability `prob`, at an SNR drawn from `snr_db`.

    The noise is white Gaussian, or, with `noise_dir`, a random excerpt of a random audio file
    found there (read once, at `sample_rate`, looped when shorter than the utterance).
    The SNR is measured over each utterance's valid samples only; padding stays zero.
    """

    def __init__(
        self,
        sample_rate: int,
        snr_db: tuple[float, float] = (10.0, 30.0),
        prob: float = 0.5,
        noise_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.snr_db = snr_db
        self.prob = prob
        self.noises = _load_noises(Path(noise_dir), sample_rate) if noise_dir else []

    def _noise(self, batch: int, samples: int, device: torch.device) -> Tensor:
        if not self.noises:
            return torch.randn(batch, samples, device=device)
        picks = torch.randint(len(self.noises), (batch,)).tolist()
        rows = []
        for pick in picks:
            noise = self.noises[pick]
            noise = noise.repeat(samples // len(noise) + 2)
            start = int(torch.randint(len(noise) - samples, ()).item())
            rows.append(noise[start : start + samples])
        return torch.stack(rows).to(device)

    def forward(self, waves: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        if not self.training:
            return waves, lengths
        batch, samples = waves.shape
        low, high = self.snr_db
        snr = low + (high - low) * torch.rand(batch, device=waves.device)
        valid = torch.arange(samples, device=waves.device) < lengths[:, None].to(waves.device)
        noise = self._noise(batch, samples, waves.device) * valid
        noisy = AF.add_noise(waves, noise, snr, lengths.to(waves.device))
        chosen = torch.rand(batch, device=waves.device) < self.prob
        return torch.where(chosen[:, None], noisy, waves), lengths


def _load_noises(folder: Path, sample_rate: int) -> list[Tensor]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ValueError(f"augment noise_dir {folder} has no {'/'.join(AUDIO_SUFFIXES)} files")
    return [read_audio(path, sample_rate) for path in files]
