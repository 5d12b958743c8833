"""features=librosa_logmel and librosa_mfcc give what librosa itself gives, utterance by utterance
in a padded batch. librosa compiles with numba on its first call: the module's fixture pays it."""

import math
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest
import torch

from asrlab.model.librosa_frontends import LibrosaLogMel, LibrosaMFCC, slaney_mel_filters

# (sample rate, settings in asrlab's terms, the same in librosa's)
SETTINGS = {
    "defaults": (16000, {}, {"n_fft": 400, "hop_length": 160}),
    "ref_max_wide_fft": (
        16000,
        {"ref": "max", "n_fft": 512, "f_min": 20.0, "f_max": 7000.0},
        {
            "ref": np.max,
            "n_fft": 512,
            "win_length": 400,
            "hop_length": 160,
            "fmin": 20.0,
            "fmax": 7000.0,
        },
    ),
    "librosa_sizes_no_top_db": (
        22050,
        {"n_fft": 2048, "win_ms": 2048 / 22.05, "hop_ms": 512 / 22.05, "top_db": None},
        {"n_fft": 2048, "hop_length": 512, "top_db": None},
    ),
}


def assert_mfccs_close(got: np.ndarray, expected: np.ndarray) -> None:
    """To 1e-4, or 1e-6 of the largest coefficient: librosa's DCT sums in float32, and |c0|
    reaches ~300 over silence, where float32 steps are 3e-5."""
    atol = max(1e-4, 1e-6 * np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


@pytest.fixture(scope="module")
def librosa() -> ModuleType:
    """librosa, its numba kernels compiled."""
    import librosa

    librosa.feature.mfcc(y=np.zeros(4000, np.float32), sr=16000, n_fft=400, hop_length=160)
    return librosa


def utterances(sample_rate: int) -> list[torch.Tensor]:
    """A sweep with noise, one with a silent half (so top_db floors it), and a short one."""
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(sample_rate) / sample_rate
    sweep = 0.5 * torch.sin(2 * math.pi * (200.0 + 3000.0 * t) * t)
    noisy = sweep + 0.1 * torch.randn(len(t), generator=gen)
    silent_half = torch.cat([sweep[: sample_rate // 2], torch.zeros(sample_rate // 2)])
    return [noisy, silent_half[: sample_rate * 3 // 4], noisy[:1234]]


def batched(frontend: torch.nn.Module, waves: list[torch.Tensor]) -> list[np.ndarray]:
    """Each utterance's (F, T) features from one padded batch."""
    batch = torch.zeros(len(waves), max(len(w) for w in waves) + 999)
    for i, wave in enumerate(waves):
        batch[i, : len(wave)] = wave
    feats, lengths = frontend(batch, torch.tensor([len(w) for w in waves]))
    return [feats[i, :n].T.numpy() for i, n in enumerate(lengths.tolist())]


@pytest.mark.filterwarnings("ignore:n_fft=2048 is too large")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_log_mels_are_librosas(librosa: ModuleType, name: str) -> None:
    sample_rate, ours, theirs = SETTINGS[name][0], SETTINGS[name][1], dict(SETTINGS[name][2])
    frontend = LibrosaLogMel(sample_rate, normalize="none", **ours)
    waves = utterances(sample_rate)
    top_db = theirs.pop("top_db", 80.0)
    ref = theirs.pop("ref", 1.0)
    for got, wave in zip(batched(frontend, waves), waves, strict=True):
        mel = librosa.feature.melspectrogram(y=wave.numpy(), sr=sample_rate, n_mels=80, **theirs)
        expected = librosa.power_to_db(mel, ref=ref, top_db=top_db)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    silent_half = batched(frontend, waves)[1]
    floor = silent_half.max() - top_db if top_db else -100.0  # amin = 1e-10
    assert silent_half.min() == pytest.approx(floor)


@pytest.mark.filterwarnings("ignore:n_fft=2048 is too large")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_mfccs_are_librosas(librosa: ModuleType, name: str) -> None:
    sample_rate, ours, theirs = SETTINGS[name][0], SETTINGS[name][1], dict(SETTINGS[name][2])
    frontend = LibrosaMFCC(sample_rate, n_features=13, n_mels=40, normalize="none", **ours)
    waves = utterances(sample_rate)
    top_db = theirs.pop("top_db", 80.0)
    ref = theirs.pop("ref", 1.0)
    for got, wave in zip(batched(frontend, waves), waves, strict=True):
        mel = librosa.feature.melspectrogram(y=wave.numpy(), sr=sample_rate, n_mels=40, **theirs)
        db = librosa.power_to_db(mel, ref=ref, top_db=top_db)
        expected = librosa.feature.mfcc(S=db, n_mfcc=13)
        assert_mfccs_close(got, expected)


def test_default_mfccs_are_librosa_mfcc(librosa: ModuleType) -> None:
    wave = utterances(16000)[0]
    (got,) = batched(LibrosaMFCC(normalize="none"), [wave])
    expected = librosa.feature.mfcc(y=wave.numpy(), sr=16000, n_fft=400, hop_length=160, n_mels=80)
    assert_mfccs_close(got, expected)


@pytest.mark.parametrize("sample_rate,n_fft,n_mels", [(16000, 400, 80), (22050, 2048, 128)])
def test_mel_filters_are_librosas(
    librosa: ModuleType, sample_rate: int, n_fft: int, n_mels: int
) -> None:
    expected = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=30.0)
    got = slaney_mel_filters(sample_rate, n_fft, n_mels, 30.0, None).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_the_frontends_do_not_import_librosa() -> None:
    code = (
        "import sys, asrlab.model.frontends, asrlab.model.librosa_frontends; "
        "assert 'librosa' not in sys.modules, 'librosa imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "kwargs,match",
    [({"ref": "mean"}, "ref"), ({"amin": 0.0}, "amin"), ({"top_db": -1.0}, "top_db")],
)
def test_bad_settings_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LibrosaLogMel(**kwargs)
