"""The only place that reads or writes audio files (soundfile; torchaudio for resampling)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF


class AudioError(ValueError):
    """An audio file that cannot be used: missing, unreadable, empty or with NaN or inf samples."""


# The usual file suffixes of libsndfile's major formats (header-less RAW has none).
_FORMAT_SUFFIXES = {
    "WAV": (".wav",),
    "WAVEX": (".wav",),
    "RF64": (".rf64",),
    "W64": (".w64",),
    "FLAC": (".flac",),
    "OGG": (".ogg", ".oga", ".opus"),
    "MP3": (".mp3",),
    "AIFF": (".aiff", ".aif"),
    "CAF": (".caf",),
    "AU": (".au", ".snd"),
    "NIST": (".nist", ".sph"),
    "VOC": (".voc",),
    "IRCAM": (".sf",),
    "PAF": (".paf",),
    "SVX": (".iff", ".svx"),
    "AVR": (".avr",),
    "SD2": (".sd2",),
}
# The sample formats that can hold NaN or inf (integer PCM cannot).
FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE"})
# Suffixes of the audio files this soundfile build reads, for searching folders.
AUDIO_SUFFIXES = frozenset(
    suffix for name in sf.available_formats() for suffix in _FORMAT_SUFFIXES.get(name, ())
)


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    frames: int
    channels: int
    subtype: str  # soundfile's sample format: "PCM_16", "FLOAT", ...

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def audio_info(path: str | Path) -> AudioInfo:
    """Header-only look at a file; raises AudioError when missing, unreadable or empty."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    if info.frames <= 0:
        raise AudioError(f"audio file is empty (0 samples): {path}")
    return AudioInfo(info.samplerate, info.frames, info.channels, info.subtype)


def check_audio_file(path: str | Path) -> AudioInfo:
    """`audio_info`, and the samples of a floating-point file (the only kind that can hold NaN
    or inf) read and checked; raises AudioError."""
    info = audio_info(path)
    if info.subtype in FLOAT_SUBTYPES:
        read_audio(path, info.sample_rate)
    return info


def require_finite(samples: np.ndarray, path: str | Path) -> None:
    """Raises AudioError naming `path` when a sample is NaN or infinite: it would make the
    loss NaN at the first step, or the model's output empty."""
    if not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise AudioError(f"audio file has {bad} NaN or infinite sample(s): {path}")


def read_audio(path: str | Path, sample_rate: int) -> torch.Tensor:
    """Read a file as mono float32 at `sample_rate` (mixing down and resampling). Returns (S,).
    Raises AudioError when the file is missing, unreadable, empty or has NaN or inf samples."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    if data.shape[0] == 0:
        raise AudioError(f"audio file is empty (0 samples): {path}")
    require_finite(data, path)
    wave = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))
    if rate != sample_rate:
        wave = AF.resample(wave, rate, sample_rate)
    return wave


def write_audio(path: str | Path, wave: torch.Tensor | np.ndarray, sample_rate: int) -> None:
    """Write a mono waveform (S,) in [-1, 1] as 16-bit PCM; the format follows the suffix."""
    if isinstance(wave, torch.Tensor):
        wave = wave.detach().cpu().numpy()
    sf.write(str(path), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16")
