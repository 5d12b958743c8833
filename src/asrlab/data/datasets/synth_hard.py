"""synth_digits_hard: synth_digits made hard enough to compare systems on a CPU.

Each utterance says 1 to 9 digits as people read them out: zero is "oh" or "zero", and a pair
of equal digits is often "double five"; the transcript is what is said. Speaking rate and pitch
spread wider than in synth_digits. The speech passes through a simulated room (an exponentially
decaying noise impulse response, RT60 drawn from `rt60_range`, for a `reverb_prob` share of
utterances), gets additive noise of one kind per utterance at an SNR drawn from `snr_db_range`,
then a telephone channel: the data's rate (8 kHz by default) and a 300-3400 Hz band-pass.

Noise kinds: `white`; `pink` (1/f power) and `brown` (1/f^2); `babble`, three to six other
digit strings of the split's own voices said at once; `hum`, 50 or 60 Hz mains with harmonics.

Whole base voices (accent families) are held out: validation and test voices are of
`HELD_OUT_BASES`, which training never hears; val and test differ in variant (timbre).
Generation, caching and determinism are synth_digits' (`root/synth_digits_hard-<hash>/`).
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torchaudio.functional as AF

from asrlab.data.datasets.synth_digits import (
    BASE_VOICES,
    DIGIT_WORDS,
    SPLIT_VARIANTS,
    SPLITS,
    SynthDigits,
    _pair,
    _Settings,
    speak,
)

HELD_OUT_BASES = ("en-gb-x-rp", "en-us-nyc")
NOISE_KINDS = ("white", "pink", "brown", "babble", "hum")
TELEPHONE_BAND = (300.0, 3400.0)
_PEAK = 0.9


def hard_split_voices(split: str) -> tuple[str, ...]:
    """Training: the other base voices, every training variant. Validation: the held-out bases,
    val variants. Test: the held-out bases, test and training variants."""
    if split == "train":
        bases = tuple(b for b in BASE_VOICES if b not in HELD_OUT_BASES)
        variants = SPLIT_VARIANTS["train"]
    else:
        bases = HELD_OUT_BASES
        variants = SPLIT_VARIANTS[split] + (SPLIT_VARIANTS["train"] if split == "test" else ())
    return tuple(f"{base}+{variant}" for variant in variants for base in bases)


def spoken(
    digits: Sequence[int], rng: np.random.Generator, oh_prob: float, double_prob: float
) -> str:
    """Digits as read out: zero as "oh" with `oh_prob`, an equal pair as "double X" with
    `double_prob` (a pair is taken from the left: 555 is "double five five")."""
    words: list[str] = []
    i = 0
    while i < len(digits):
        word = "oh" if digits[i] == 0 and rng.random() < oh_prob else DIGIT_WORDS[digits[i]]
        if i + 1 < len(digits) and digits[i + 1] == digits[i] and rng.random() < double_prob:
            words += ["double", word]
            i += 2
        else:
            words.append(word)
            i += 1
    return " ".join(words)


@dataclass(frozen=True)
class _HardSettings(_Settings):
    oh_prob: float
    double_prob: float
    noise_kinds: tuple[str, ...]
    reverb_prob: float
    rt60_range: tuple[float, float]
    band: tuple[float, float]


def colored_noise(length: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """(length,) Gaussian noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length)
    freqs[0] = freqs[1] if length > 1 else 1.0
    return np.fft.irfft(spectrum / freqs ** (exponent / 2), n=length).astype(np.float32)


def hum(length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """(length,) 50 or 60 Hz mains hum: the fundamental and harmonics of falling amplitude."""
    t = np.arange(length) / sample_rate
    mains = rng.choice([50.0, 60.0])
    wave = sum(
        rng.uniform(0.3, 1.0) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 2 * np.pi))
        for k in range(1, 6)
        if mains * k < sample_rate / 2
    )
    return np.asarray(wave, dtype=np.float32)


def room_impulse_response(rt60: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """An exponentially decaying noise tail (-60 dB after `rt60` s) behind a unit direct path."""
    t = np.arange(1, int(rt60 * sample_rate)) / sample_rate
    tail = rng.standard_normal(len(t)) * 10 ** (-3 * t / rt60) * 0.3
    return np.concatenate([[1.0], tail]).astype(np.float32)


def convolve(wave: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """`wave` through `kernel` (FFT), cut to the length of `wave`."""
    size = len(wave) + len(kernel) - 1
    out = np.fft.irfft(np.fft.rfft(wave, size) * np.fft.rfft(kernel, size), size)
    return out[: len(wave)].astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """speech + noise scaled so that their power ratio is `snr_db`; both (S,)."""
    speech_power = np.mean(speech.astype(np.float64) ** 2)
    noise_power = max(np.mean(noise.astype(np.float64) ** 2), 1e-20)
    scale = np.sqrt(speech_power / noise_power / 10 ** (snr_db / 10))
    return (speech + scale * noise).astype(np.float32)


def _babble(
    settings: _HardSettings, split: str, length: int, rng: np.random.Generator
) -> np.ndarray:
    """(length,) three to six random digit strings of the split's voices, said at once."""
    voices = hard_split_voices(split)
    babble = np.zeros(length, np.float32)
    for _ in range(rng.integers(3, 7)):
        text = " ".join(DIGIT_WORDS[d] for d in rng.integers(0, 10, size=9))
        talker = speak(settings, text, voices[rng.integers(len(voices))], rng)
        talker = np.resize(talker, length)  # repeated or cut to the utterance's length
        babble += talker / (np.sqrt(np.mean(talker**2)) + 1e-8)
    return babble


def _noise(
    settings: _HardSettings, split: str, length: int, rng: np.random.Generator
) -> np.ndarray:
    """(length,) noise of a kind drawn from `noise_kinds`."""
    kind = settings.noise_kinds[rng.integers(len(settings.noise_kinds))]
    if kind == "babble":
        return _babble(settings, split, length, rng)
    if kind == "hum":
        return hum(length, settings.sample_rate, rng) + colored_noise(length, 0, rng) * 0.01
    return colored_noise(length, {"white": 0, "pink": 1, "brown": 2}[kind], rng)


def _synthesize_hard(
    settings: _HardSettings, split: str, index: int
) -> tuple[np.ndarray, str, str]:
    """One utterance: (waveform at the target rate, text, voice)."""
    rng = np.random.default_rng([settings.seed, SPLITS.index(split), index])
    digits = rng.integers(0, 10, size=rng.integers(settings.min_digits, settings.max_digits + 1))
    text = spoken(digits, rng, settings.oh_prob, settings.double_prob)
    voices = hard_split_voices(split)
    voice = voices[rng.integers(len(voices))]
    speech = speak(settings, text, voice, rng)

    lead, trail = (rng.uniform(*settings.silence_range, size=2) * settings.sample_rate).astype(int)
    wave = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(trail, np.float32)])
    if rng.random() < settings.reverb_prob:
        rir = room_impulse_response(rng.uniform(*settings.rt60_range), settings.sample_rate, rng)
        wave = convolve(wave, rir)
    noise = _noise(settings, split, len(wave), rng)
    wave = mix_at_snr(wave, noise, rng.uniform(*settings.snr_db_range))
    with torch.inference_mode():
        band = torch.from_numpy(wave)
        band = AF.highpass_biquad(band, settings.sample_rate, settings.band[0])
        band = AF.lowpass_biquad(band, settings.sample_rate, settings.band[1])
        wave = band.numpy()
    return wave * (_PEAK / max(np.abs(wave).max(), 1e-8)), text, voice


class SynthDigitsHard(SynthDigits):
    """The synth_digits_hard dataset under `root` (see the module docstring); `prepare()`
    generates it once and returns the manifests."""

    name = "synth_digits_hard"
    synthesize = staticmethod(_synthesize_hard)

    def __init__(
        self,
        root: str,
        sample_rate: int = 8000,
        num_train: int = 2400,
        num_val: int = 200,
        num_test: int = 2000,
        seed: int = 1234,
        min_digits: int = 1,
        max_digits: int = 9,
        workers: int = 2,
        rate_range: Sequence[int] = (130, 210),
        pitch_range: Sequence[int] = (25, 75),
        snr_db_range: Sequence[float] = (0.0, 20.0),
        silence_range: Sequence[float] = (0.05, 0.35),
        oh_prob: float = 0.5,
        double_prob: float = 0.5,
        noise_kinds: Sequence[str] = NOISE_KINDS,
        reverb_prob: float = 0.2,
        rt60_range: Sequence[float] = (0.1, 0.4),
        band: Sequence[float] = TELEPHONE_BAND,
    ) -> None:
        super().__init__(
            root,
            sample_rate,
            num_train,
            num_val,
            num_test,
            seed,
            min_digits,
            max_digits,
            workers,
            rate_range,
            pitch_range,
            snr_db_range,
            silence_range,
        )
        unknown = set(noise_kinds) - set(NOISE_KINDS)
        if unknown or not noise_kinds:
            raise ValueError(f"noise_kinds must be some of {NOISE_KINDS}, got {list(noise_kinds)}")
        for name, prob in (("oh_prob", oh_prob), ("double_prob", double_prob)):
            if not 0.0 <= prob <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {prob}")
        if not 0.0 <= reverb_prob <= 1.0:
            raise ValueError(f"reverb_prob must be in [0, 1], got {reverb_prob}")
        low, high = _pair(band, "band")
        if not 0 < low < high < sample_rate / 2:
            raise ValueError(f"band must lie inside (0, {sample_rate / 2}) Hz, got {tuple(band)}")
        self.settings = _HardSettings(
            **asdict(self.settings),
            oh_prob=oh_prob,
            double_prob=double_prob,
            noise_kinds=tuple(noise_kinds),
            reverb_prob=reverb_prob,
            rt60_range=_pair(rt60_range, "rt60_range"),
            band=(low, high),
        )

    @property
    def params(self) -> dict:
        return {
            **super().params,
            "task": self.name,
            "split_voices": {split: list(hard_split_voices(split)) for split in SPLITS},
        }
