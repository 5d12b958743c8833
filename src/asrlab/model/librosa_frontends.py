"""Frontends that reproduce librosa's features, for papers whose features came from librosa.

`LibrosaLogMel` is `librosa.power_to_db(librosa.feature.melspectrogram(y=wave, sr=...))` and
`LibrosaMFCC` is `librosa.feature.mfcc(y=wave, sr=..., n_mfcc=n_features)`, with the frame sizes
given in ms as the other frontends take them: frames of n_fft samples (null: the window's),
centred on their hop with zeros at either end (librosa's `center=True`, `pad_mode="constant"`),
the periodic Hann window of win_ms centred in them, the power spectrum, Slaney-style mel filters
with Slaney area normalisation (`librosa.filters.mel`), then decibels
`10 log10(max(amin, S)) - 10 log10(max(amin, ref))`, floored `top_db` below the utterance's
maximum; MFCCs are the orthonormal DCT-II of those decibels. `ref` is a power or "max" (librosa's
`ref=np.max`), over each utterance's own frames, so a batch gives each utterance what librosa
gives it alone. librosa itself is only needed to check them (`tests/model/features`).
"""

import math

import torch
import torchaudio.functional as AF
import torchaudio.transforms as T
from torch import Tensor

from asrlab.model.frontends import (
    Frontend,
    _warn_empty_filters,
    floor_below_peak,
    ms_to_samples,
    spectrogram,
)

# librosa's Slaney mel scale: linear below 1 kHz at 200/3 Hz per mel, logarithmic above.
_HZ_PER_MEL = 200.0 / 3
_BREAK_HZ = 1000.0
_BREAK_MEL = _BREAK_HZ / _HZ_PER_MEL
_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(hz: Tensor) -> Tensor:
    """librosa.hz_to_mel (htk=False), elementwise."""
    log_part = _BREAK_MEL + torch.log(hz.clamp(min=_BREAK_HZ) / _BREAK_HZ) / _LOG_STEP
    return torch.where(hz >= _BREAK_HZ, log_part, hz / _HZ_PER_MEL)


def mel_to_hz(mel: Tensor) -> Tensor:
    """librosa.mel_to_hz (htk=False), elementwise."""
    log_part = _BREAK_HZ * torch.exp(_LOG_STEP * (mel.clamp(min=_BREAK_MEL) - _BREAK_MEL))
    return torch.where(mel >= _BREAK_MEL, log_part, mel * _HZ_PER_MEL)


def slaney_mel_filters(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float | None
) -> Tensor:
    """librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, norm="slaney"): (n_mels, n_fft // 2 + 1)
    float32, computed in float64 as librosa does (torchaudio's are float32 and use sr // 2)."""
    f_max = sample_rate / 2 if f_max is None else f_max
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = torch.tensor([f_min, f_max], dtype=torch.float64)
    mels = torch.linspace(*hz_to_mel(edges).tolist(), n_mels + 2, dtype=torch.float64)
    centres = mel_to_hz(mels)
    widths = centres.diff()
    ramps = centres[:, None] - bins[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    filters = torch.clamp(torch.minimum(lower, upper), min=0.0)
    filters *= (2.0 / (centres[2:] - centres[:-2]))[:, None]
    return filters.float()


def power_to_db(
    power: Tensor, mask: Tensor, ref: float | str, amin: float, top_db: float | None
) -> Tensor:
    """librosa.power_to_db of each utterance's valid frames: (B, T, F) power, (B, T, 1) bool mask
    -> (B, T, F) decibels; padded frames hold anything."""
    db = 10.0 * torch.log10(power.clamp(min=amin))
    if ref == "max":
        valid = power.masked_fill(~mask, 0.0)
        db = db - 10.0 * torch.log10(valid.amax(dim=(1, 2), keepdim=True).clamp(min=amin))
    else:
        db = db - 10.0 * math.log10(max(amin, abs(ref)))
    return db if top_db is None else floor_below_peak(db, mask, top_db)


class LibrosaMels(Frontend):
    """librosa's decibels of n_mels mel bins (see the module); subclasses choose the features."""

    def __init__(
        self,
        sample_rate: int,
        n_features: int,
        n_mels: int,
        win_ms: float,
        hop_ms: float,
        f_min: float,
        f_max: float | None,
        normalize: str,
        n_fft: int | None,
        center: bool,
        ref: float | str,
        amin: float,
        top_db: float | None,
    ):
        win_length = ms_to_samples(sample_rate, win_ms)
        hop_length = ms_to_samples(sample_rate, hop_ms)
        if n_fft is not None and n_fft < win_length:
            raise ValueError(f"n_fft ({n_fft}) is shorter than the window ({win_length} samples)")
        if not (ref == "max" or isinstance(ref, int | float)) or amin <= 0:
            raise ValueError(f"need ref a power or 'max' and amin > 0, got {ref!r}, {amin}")
        if top_db is not None and top_db < 0:
            raise ValueError(f"top_db must be >= 0 or null, got {top_db}")
        n_fft = n_fft or win_length
        super().__init__(sample_rate, n_features, n_fft, hop_length, normalize, center=center)
        self.ref, self.amin, self.top_db = ref, amin, top_db
        _warn_empty_filters(sample_rate, n_mels, n_fft, f_min, f_max)
        # librosa's window and FFT are float64: in float32, bins 80 dB under the peak move 1e-3 dB.
        self.stft = T.Spectrogram(
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            power=2.0,
            center=False,
            wkwargs={"dtype": torch.float64},
        )
        filters = slaney_mel_filters(sample_rate, n_fft, n_mels, f_min, f_max)
        self.register_buffer("filters", filters)

    def spectra(self, wave: Tensor) -> Tensor:
        """(B, S) -> (B, n_mels, T) power mel spectrogram; its STFT in float32 in an ONNX export."""
        exact = wave if torch.onnx.is_in_onnx_export() else wave.to(self.stft.window.dtype)
        return self.filters @ spectrogram(self.stft, exact).float()

    def per_utterance(self, feats: Tensor, mask: Tensor) -> Tensor:
        return power_to_db(feats, mask, self.ref, self.amin, self.top_db)


class LibrosaLogMel(LibrosaMels):
    """librosa's log mel spectrogram (see the module); F = n_features mel bins."""

    def __init__(
        self,
        sample_rate: int = 16000,
        n_features: int = 80,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        f_min: float = 0.0,
        f_max: float | None = None,
        normalize: str = "utterance",
        n_fft: int | None = None,
        center: bool = True,
        ref: float | str = 1.0,
        amin: float = 1e-10,
        top_db: float | None = 80.0,
    ):
        super().__init__(
            sample_rate, n_features, n_features, win_ms, hop_ms, f_min, f_max, normalize, n_fft,
            center, ref, amin, top_db,
        )  # fmt: skip


class LibrosaMFCC(LibrosaMels):
    """librosa's MFCCs (see the module): the first n_features of the orthonormal DCT-II over the
    decibels of n_mels mel bins; F = n_features."""

    def __init__(
        self,
        sample_rate: int = 16000,
        n_features: int = 20,
        n_mels: int = 80,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        f_min: float = 0.0,
        f_max: float | None = None,
        normalize: str = "utterance",
        n_fft: int | None = None,
        center: bool = True,
        ref: float | str = 1.0,
        amin: float = 1e-10,
        top_db: float | None = 80.0,
    ):
        if n_features > n_mels:
            raise ValueError(f"n_features ({n_features}) cannot exceed n_mels ({n_mels})")
        super().__init__(
            sample_rate, n_features, n_mels, win_ms, hop_ms, f_min, f_max, normalize, n_fft,
            center, ref, amin, top_db,
        )  # fmt: skip
        self.register_buffer("dct", AF.create_dct(n_features, n_mels, norm="ortho"))

    def per_utterance(self, feats: Tensor, mask: Tensor) -> Tensor:
        return super().per_utterance(feats, mask) @ self.dct
