"""Feature frontends: padded waveforms (B, S) to padded log features (B, T, F).

Every frontend is exactly padding-invariant. By default frames never start at a negative sample
and only cover valid samples (`center=False`), so an utterance of S valid samples gives
T = max(1, (S - frame_length) // hop_samples + 1) frames (`output_frames`). With `center=True`
each utterance gets frame_length // 2 zeros at either end first (NeMo's and torch.stft's centred
frames, constant padding), so frame t is centred on sample t * hop_samples. An utterance shorter
than one frame still gets one frame, computed over its samples followed by zeros, so CTC always
has input. Normalisation statistics (`normalize`: per feature over time, `utterance`; over all
features at once, `all_features`; or `none`) use valid frames only, and padded output frames are
zeros.

Before framing, in training only, `dither` adds white noise of that standard deviation to the
valid samples; then `preemph` (0: off) filters them with y[n] = x[n] - preemph * x[n - 1].
`top_db` (LogMel, MFCC) floors each utterance's log mels that many decibels below its own peak, so
that a recording's level and noise floor do not decide which bins sit at the fixed `LOG_FLOOR`.
"""

import contextlib
import functools
import logging
import math
import warnings
from collections.abc import Iterator

import torch
import torchaudio.functional as AF
import torchaudio.transforms as T
from torch import Tensor, nn

from asrlab.model.onnx_stft import conv_spectrogram

log = logging.getLogger(__name__)

LOG_FLOOR = 1e-6
NORM_EPS = 1e-5
# Per utterance, the dims of (B, T, F) that one mean and variance span: `utterance` normalises
# each feature over time; `all_features` (NeMo's name) all of them at once, which keeps the
# spectral shape within a frame.
NORMALIZED_DIMS = {"utterance": (1,), "all_features": (1, 2)}
NORMALIZATIONS = (*NORMALIZED_DIMS, "none")
EMPTY_FILTERS = "At least one mel filterbank has all zero values"


def ms_to_samples(sample_rate: int, ms: float) -> int:
    return round(sample_rate * ms / 1000)


def floored_log(x: Tensor) -> Tensor:
    return torch.log(x + LOG_FLOOR)


def floor_below_peak(values: Tensor, mask: Tensor, depth: float) -> Tensor:
    """(B, T, F) log values, (B, T, 1) bool mask of valid frames -> (B, T, F): each utterance's
    values raised to at least its valid frames' maximum minus `depth`."""
    peak = values.masked_fill(~mask, -math.inf).amax(dim=(1, 2), keepdim=True)
    return torch.maximum(values, peak - depth)


def floor_log_mels(feats: Tensor, mask: Tensor, top_db: float | None) -> Tensor:
    """(B, T, F) natural-log powers, (B, T, 1) bool mask -> (B, T, F): floored `top_db` decibels
    below each utterance's peak (None: as they are)."""
    if top_db is None:
        return feats
    return floor_below_peak(feats, mask, top_db * math.log(10.0) / 10.0)


def check_top_db(top_db: float | None) -> None:
    if top_db is not None and top_db <= 0:
        raise ValueError(f"top_db must be > 0 or null, got {top_db}")


def frame_mask(lengths: Tensor, max_len: int) -> Tensor:
    """(B,) lengths -> (B, max_len) bool, True on valid positions."""
    return torch.arange(max_len, device=lengths.device) < lengths[:, None]


def standardize(feats: Tensor, mask: Tensor, dims: tuple[int, ...]) -> Tensor:
    """(B, T, F) minus its mean over the valid entries of `dims`, over their standard deviation.

    mask: (B, T, 1) float, 1 on valid frames. Returns (B, T, F), padded frames not yet zeroed.
    """
    count = mask.expand_as(feats).sum(dim=dims, keepdim=True)
    mean = (feats * mask).sum(dim=dims, keepdim=True) / count
    var = ((feats - mean) ** 2 * mask).sum(dim=dims, keepdim=True) / count
    return (feats - mean) * torch.rsqrt(var + NORM_EPS)


class Frontend(nn.Module):
    """Base frontend (`asrlab.model.contracts.Frontend`): subclasses build their transforms and
    implement `spectra`.

    forward(wave (B, S), wave_lengths (B,)) -> feats (B, T, F), lengths (B,).
    """

    def __init__(
        self,
        sample_rate: int,
        n_features: int,
        frame_length: int,
        hop_samples: int,
        normalize: str,
        dither: float = 0.0,
        preemph: float = 0.0,
        center: bool = False,
    ):
        super().__init__()
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        if dither < 0 or not 0 <= preemph < 1:
            raise ValueError(f"need dither >= 0 and 0 <= preemph < 1, got {dither}, {preemph}")
        self.sample_rate = sample_rate
        self.n_features = n_features
        self.frame_length = frame_length
        self.hop_samples = hop_samples
        self.normalize = normalize
        self.dither = dither
        self.preemph = preemph
        self.center = center

    def spectra(self, wave: Tensor) -> Tensor:
        """(B, S) float32 waveforms with S >= frame_length -> (B, F, T) features."""
        raise NotImplementedError

    def per_utterance(self, feats: Tensor, mask: Tensor) -> Tensor:
        """(B, T, F') spectra, (B, T, 1) bool mask of valid frames -> (B, T, F) features: steps
        over each utterance's own frames (librosa's `top_db`); by default the spectra."""
        return feats

    def output_frames(self, samples: Tensor) -> Tensor:
        """(N,) valid samples -> (N,) valid frames, at least 1."""
        padded = samples + 2 * (self.frame_length // 2) if self.center else samples
        frames = torch.div(padded - self.frame_length, self.hop_samples, rounding_mode="floor")
        return (frames + 1).clamp(min=1)

    def condition(self, wave: Tensor) -> Tensor:
        """(B, S) -> (B, S): dither (training only), then pre-emphasis; padding not yet zeroed."""
        if self.training and self.dither > 0:
            wave = wave + self.dither * torch.randn_like(wave)
        if self.preemph > 0:
            wave = torch.cat([wave[:, :1], wave[:, 1:] - self.preemph * wave[:, :-1]], dim=1)
        return wave

    def forward(self, wave: Tensor, wave_lengths: Tensor) -> tuple[Tensor, Tensor]:
        # Features are computed in float32 even inside a mixed-precision step.
        with torch.autocast(wave.device.type, enabled=False):
            # Zeroing past each end makes the frame of a too-short utterance exact whatever the
            # padding holds; padding the batch to one frame gives every utterance its frame.
            valid = frame_mask(wave_lengths, wave.shape[1])
            wave = self.condition(wave.float()).masked_fill(~valid, 0.0)
            if self.center:
                wave = nn.functional.pad(wave, (self.frame_length // 2, self.frame_length // 2))
            if wave.shape[1] < self.frame_length:
                wave = nn.functional.pad(wave, (0, self.frame_length - wave.shape[1]))
            feats = self.spectra(wave).transpose(1, 2)
            lengths = self.output_frames(wave_lengths)
            mask = frame_mask(lengths, feats.shape[1]).unsqueeze(-1)
            feats = self.per_utterance(feats, mask)
            if self.normalize != "none":
                feats = standardize(feats, mask.float(), NORMALIZED_DIMS[self.normalize])
            return feats.masked_fill(~mask, 0.0), lengths


@contextlib.contextmanager
def _without_empty_filter_warning() -> Iterator[None]:
    """torchaudio's warning says neither how many filters are empty nor what to change."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", EMPTY_FILTERS, UserWarning, r"torchaudio\.")
        yield


def empty_mel_filters(
    sample_rate: int, n_mels: int, n_fft: int, f_min: float, f_max: float | None
) -> int:
    """How many of the n_mels triangular filters cover no FFT bin: their feature is constant."""
    with _without_empty_filter_warning():
        fbanks = AF.melscale_fbanks(
            n_fft // 2 + 1, f_min, sample_rate / 2 if f_max is None else f_max, n_mels, sample_rate
        )
    return int((fbanks.amax(dim=0) == 0).sum())


@functools.cache
def _warn_empty_filters(
    sample_rate: int, n_mels: int, n_fft: int, f_min: float, f_max: float | None
) -> None:
    """Logs once per setting how many filters are empty and how many mels would leave none."""
    empty = empty_mel_filters(sample_rate, n_mels, n_fft, f_min, f_max)
    if empty:
        most = next(
            n
            for n in range(n_mels - 1, 0, -1)
            if not empty_mel_filters(sample_rate, n, n_fft, f_min, f_max)
        )
        log.warning(
            "%d mel filters at %d Hz over %d-sample frames leave %d empty (a constant feature); "
            "at most %d leave none: lower features.n_features (features.n_mels for mfcc)",
            n_mels,
            sample_rate,
            n_fft,
            empty,
            most,
        )


def spectrogram(transform: T.Spectrogram, wave: Tensor) -> Tensor:
    """`transform(wave)`; while exporting to ONNX, the same as a convolution (`onnx_stft`)."""
    if torch.onnx.is_in_onnx_export():
        return conv_spectrogram(transform, wave)
    return transform(wave)


def mel_spectrogram(
    sample_rate: int,
    n_mels: int,
    win_length: int,
    hop_length: int,
    f_min: float,
    f_max: float | None,
    n_fft: int | None = None,
) -> T.MelSpectrogram:
    """Power mel spectrogram, (B, S) -> (B, n_mels, T), frames of exactly n_fft samples (default
    win_length), the Hann window of win_length samples centred in each.

    Too many mels for the frames' FFT bins (80 at 8 kHz with 25 ms frames) leave low filters
    empty: a warning says so once, and the features stay as they are (checkpoints trained with
    them still load and score the same).
    """
    n_fft = n_fft or win_length
    _warn_empty_filters(sample_rate, n_mels, n_fft, f_min, f_max)
    with _without_empty_filter_warning():
        return T.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            f_min=f_min,
            f_max=f_max,
            n_mels=n_mels,
            center=False,
        )


def log_mels(mel: T.MelSpectrogram, wave: Tensor) -> Tensor:
    """(B, S) -> (B, n_mels, T): floored log of `mel(wave)`, its spectrogram by `spectrogram`."""
    return floored_log(mel.mel_scale(spectrogram(mel.spectrogram, wave)))


class LogMel(Frontend):
    """Log mel filterbank energies; F = n_features mel bins.

    Frames span `n_fft` samples (null: the window's), the win_ms window centred in them.
    """

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
        center: bool = False,
        dither: float = 0.0,
        preemph: float = 0.0,
        top_db: float | None = None,
    ):
        win_length = ms_to_samples(sample_rate, win_ms)
        hop_length = ms_to_samples(sample_rate, hop_ms)
        check_top_db(top_db)
        if n_fft is not None and n_fft < win_length:
            raise ValueError(f"n_fft ({n_fft}) is shorter than the window ({win_length} samples)")
        frame_length = n_fft or win_length
        super().__init__(
            sample_rate, n_features, frame_length, hop_length, normalize, dither, preemph, center
        )
        self.mel = mel_spectrogram(
            sample_rate, n_features, win_length, hop_length, f_min, f_max, n_fft
        )
        self.top_db = top_db

    def spectra(self, wave: Tensor) -> Tensor:
        return log_mels(self.mel, wave)

    def per_utterance(self, feats: Tensor, mask: Tensor) -> Tensor:
        return floor_log_mels(feats, mask, self.top_db)


class MFCC(Frontend):
    """Mel-frequency cepstral coefficients (orthonormal DCT-II of log mels, floored as LogMel's
    with `top_db`); F = n_features."""

    def __init__(
        self,
        sample_rate: int = 16000,
        n_features: int = 40,
        n_mels: int = 80,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        f_min: float = 0.0,
        f_max: float | None = None,
        normalize: str = "utterance",
        top_db: float | None = None,
    ):
        if n_features > n_mels:
            raise ValueError(f"n_features ({n_features}) cannot exceed n_mels ({n_mels})")
        check_top_db(top_db)
        win_length = ms_to_samples(sample_rate, win_ms)
        hop_length = ms_to_samples(sample_rate, hop_ms)
        super().__init__(sample_rate, n_features, win_length, hop_length, normalize)
        self.mel = mel_spectrogram(sample_rate, n_mels, win_length, hop_length, f_min, f_max)
        self.register_buffer("dct", AF.create_dct(n_features, n_mels, norm="ortho").T)
        self.top_db = top_db

    def spectra(self, wave: Tensor) -> Tensor:
        return log_mels(self.mel, wave)

    def per_utterance(self, feats: Tensor, mask: Tensor) -> Tensor:
        return floor_log_mels(feats, mask, self.top_db) @ self.dct.T


class Spectrogram(Frontend):
    """Log-magnitude linear STFT with n_fft = 2 * (n_features - 1); F = n_features bins.

    Frames span n_fft samples, the win_ms window centred in them (win_ms must fit in n_fft).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_features: int = 201,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        normalize: str = "utterance",
    ):
        n_fft = 2 * (n_features - 1)
        win_length = ms_to_samples(sample_rate, win_ms)
        if win_length > n_fft:
            raise ValueError(f"window of {win_length} samples exceeds n_fft = {n_fft}")
        hop_length = ms_to_samples(sample_rate, hop_ms)
        super().__init__(sample_rate, n_features, n_fft, hop_length, normalize)
        self.stft = T.Spectrogram(
            n_fft=n_fft, win_length=win_length, hop_length=hop_length, power=1.0, center=False
        )

    def spectra(self, wave: Tensor) -> Tensor:
        return floored_log(spectrogram(self.stft, wave))
