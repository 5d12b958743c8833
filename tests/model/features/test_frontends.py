import inspect
import logging
import math
import warnings
from importlib.resources import files

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from asrlab.model import contracts, frontends
from asrlab.model.frontends import MFCC, Frontend, LogMel, Spectrogram
from asrlab.model.librosa_frontends import LibrosaLogMel, LibrosaMFCC

SAMPLE_RATE = 16000
FRONTENDS = {
    "logmel": LogMel,
    "mfcc": MFCC,
    "spectrogram": Spectrogram,
    "librosa_logmel": LibrosaLogMel,
    "librosa_mfcc": LibrosaMFCC,
}


def make_wave(n_samples: int, seed: int) -> torch.Tensor:
    """A sine sweep plus noise, so every feature varies over time. Returns (n_samples,)."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(n_samples) / SAMPLE_RATE
    freq = 200.0 + 3000.0 * t
    return 0.5 * torch.sin(2 * math.pi * freq * t) + 0.1 * torch.randn(n_samples, generator=gen)


def pad_batch(waves: list[torch.Tensor], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    batch = torch.zeros(len(waves), width)
    for i, wave in enumerate(waves):
        batch[i, : len(wave)] = wave
    return batch, torch.tensor([len(w) for w in waves])


@pytest.fixture(params=list(FRONTENDS), ids=list(FRONTENDS))
def frontend(request) -> Frontend:
    return FRONTENDS[request.param]().eval()


def test_shapes_and_attributes(frontend):
    waves, lengths = pad_batch([make_wave(8000, 0), make_wave(5000, 1)], 8000)
    feats, out_lengths = frontend(waves, lengths)
    assert feats.shape == (2, out_lengths.max().item(), frontend.n_features)
    assert out_lengths.dtype == torch.long
    assert frontend.hop_samples == 160
    expected = {LogMel: 80, MFCC: 40, Spectrogram: 201, LibrosaLogMel: 80, LibrosaMFCC: 20}
    assert expected[type(frontend)] == frontend.n_features


def test_keeps_the_frontend_contract(frontend):
    assert isinstance(frontend, contracts.Frontend)
    assert frontend.sample_rate == SAMPLE_RATE
    samples = [8000, 5000, 561, 560, 559, 400, 399, 1]
    _, lengths = frontend(*pad_batch([make_wave(n, 0) for n in samples], 8000))
    assert frontend.output_frames(torch.tensor(samples)).tolist() == lengths.tolist()


@pytest.mark.parametrize("n_samples", [1, 399, 400, 559, 560, 8000])
def test_frame_count_formula(n_samples):
    frontend = LogMel()
    expected = max(1, (n_samples - 400) // 160 + 1)
    feats, lengths = frontend(make_wave(n_samples, 0)[None], torch.tensor([n_samples]))
    assert lengths.tolist() == [expected]
    assert feats.shape[1] == expected


@pytest.mark.parametrize("normalize", ["utterance", "all_features", "none"])
@pytest.mark.parametrize("cls", FRONTENDS.values(), ids=list(FRONTENDS))
def test_padding_invariance(cls, normalize):
    frontend = cls(normalize=normalize)
    utterances = [make_wave(6000, 0), make_wave(9001, 1), make_wave(250, 2)]
    batch_feats, batch_lengths = frontend(*pad_batch(utterances, 9500))
    for i, wave in enumerate(utterances):
        feats, lengths = frontend(wave[None], torch.tensor([len(wave)]))
        assert batch_lengths[i] == lengths[0]
        torch.testing.assert_close(batch_feats[i, : lengths[0]], feats[0], atol=1e-5, rtol=1e-5)


def test_padded_frames_are_zero(frontend):
    waves, lengths = pad_batch([make_wave(8000, 0), make_wave(3000, 1)], 8000)
    feats, out_lengths = frontend(waves, lengths)
    assert out_lengths[1] < feats.shape[1]
    assert torch.all(feats[1, out_lengths[1] :] == 0)


def test_padding_content_is_ignored(frontend):
    waves, lengths = pad_batch([make_wave(8000, 0), make_wave(3000, 1)], 8000)
    noisy = waves.clone()
    noisy[1, 3000:] = 1.0
    torch.testing.assert_close(frontend(noisy, lengths)[0], frontend(waves, lengths)[0])


def test_utterance_normalization(frontend):
    waves, lengths = pad_batch([make_wave(8000, 0), make_wave(4000, 1)], 8000)
    feats, out_lengths = frontend(waves, lengths)
    for i, n in enumerate(out_lengths.tolist()):
        valid = feats[i, :n]
        zeros, ones = torch.zeros(frontend.n_features), torch.ones(frontend.n_features)
        torch.testing.assert_close(valid.mean(0), zeros, atol=1e-4, rtol=0)
        torch.testing.assert_close(valid.var(0, unbiased=False), ones, atol=1e-3, rtol=0)


@pytest.mark.parametrize("cls", FRONTENDS.values(), ids=list(FRONTENDS))
def test_all_features_normalization_is_one_affine_map_per_utterance(cls):
    waves, lengths = pad_batch([make_wave(8000, 0), make_wave(4000, 1)], 8000)
    feats, out_lengths = cls(normalize="all_features")(waves, lengths)
    raw, _ = cls(normalize="none")(waves, lengths)
    for i, n in enumerate(out_lengths.tolist()):
        valid, plain = feats[i, :n], raw[i, :n]
        assert valid.mean().item() == pytest.approx(0.0, abs=1e-4)
        assert valid.var(unbiased=False).item() == pytest.approx(1.0, abs=1e-3)
        # One scale and offset for every feature: the spectral shape of each frame is kept,
        # which the per-feature `utterance` normalisation flattens.
        expected = (plain - plain.mean()) / plain.std(unbiased=False)
        torch.testing.assert_close(valid, expected, atol=1e-3, rtol=1e-3)
    per_feature, _ = cls(normalize="utterance")(waves, lengths)
    assert not torch.allclose(per_feature, feats, atol=1e-2)


def test_all_features_normalization_removes_the_recording_level():
    wave = make_wave(8000, 0)
    lengths = torch.tensor([len(wave)])
    frontend = LogMel(normalize="all_features").eval()
    loud, _ = frontend(wave[None], lengths)
    quiet, _ = frontend(0.1 * wave[None], lengths)
    # Not exact: the fixed floor added to the mel powers is not scaled with them.
    torch.testing.assert_close(loud, quiet, atol=0.02, rtol=0)
    assert not torch.allclose(
        *(LogMel(normalize="none")(w[None], lengths)[0] for w in (wave, 0.1 * wave))
    )


def test_short_utterance_gets_one_frame(frontend):
    feats, lengths = frontend(make_wave(100, 0)[None], torch.tensor([100]))
    assert lengths.tolist() == [1]
    assert feats.shape == (1, 1, frontend.n_features)
    assert torch.all(feats == 0), "one normalised frame is its own mean"
    raw = type(frontend)(normalize="none")
    feats, _ = raw(make_wave(100, 0)[None], torch.tensor([100]))
    assert torch.isfinite(feats).all() and feats.abs().sum() > 0


def test_deterministic_without_parameters(frontend):
    waves, lengths = pad_batch([make_wave(4000, 0)], 4000)
    assert list(frontend.parameters()) == []
    assert torch.equal(frontend(waves, lengths)[0], frontend(waves, lengths)[0])


def test_unknown_normalization_rejected():
    with pytest.raises(ValueError, match="normalize"):
        LogMel(normalize="global")


@pytest.mark.parametrize("name", list(FRONTENDS))
def test_config_lists_every_default_and_instantiates(name):
    node = OmegaConf.load(files("asrlab") / "conf" / "features" / f"{name}.yaml")
    cfg = OmegaConf.create({"data": {"sample_rate": SAMPLE_RATE}, "features": node})
    signature = inspect.signature(FRONTENDS[name])
    defaults = {key: param.default for key, param in signature.parameters.items()}
    listed = OmegaConf.to_container(node)
    cls = FRONTENDS[name]
    assert listed.pop("_target_") == f"{cls.__module__}.{cls.__name__}"
    assert listed.pop("sample_rate") == "${data.sample_rate}"
    defaults.pop("sample_rate")
    assert listed == defaults
    frontend = instantiate(cfg.features)
    assert isinstance(frontend, FRONTENDS[name])
    assert frontend.hop_samples == 160


def test_empty_mel_filters_are_reported_once_in_asrlab_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    frontends._warn_empty_filters.cache_clear()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        LogMel(sample_rate=8000, n_features=80)
        LogMel(sample_rate=8000, n_features=80)
        LogMel(sample_rate=16000, n_features=80)
    assert not [w for w in caught if frontends.EMPTY_FILTERS in str(w.message)]
    assert [r.getMessage() for r in caplog.records] == [
        "80 mel filters at 8000 Hz over 200-sample frames leave 1 empty (a constant feature); "
        "at most 67 leave none: lower features.n_features (features.n_mels for mfcc)"
    ]
    assert frontends.empty_mel_filters(8000, 67, 200, 0.0, None) == 0


NEMO_LIKE = {"n_fft": 512, "center": True, "dither": 1e-5, "preemph": 0.97}


@pytest.mark.parametrize("n_samples", [1, 100, 399, 400, 8000])
def test_centred_frames_of_n_fft_samples(n_samples):
    frontend = LogMel(n_fft=512, center=True)
    feats, lengths = frontend(make_wave(n_samples, 0)[None], torch.tensor([n_samples]))
    assert frontend.frame_length == 512
    assert lengths.tolist() == [n_samples // 160 + 1] == [feats.shape[1]]


def test_nemo_like_knobs_keep_padding_invariance():
    frontend = LogMel(**NEMO_LIKE).eval()
    utterances = [make_wave(6000, 0), make_wave(9001, 1), make_wave(250, 2)]
    batch_feats, batch_lengths = frontend(*pad_batch(utterances, 9500))
    for i, wave in enumerate(utterances):
        feats, lengths = frontend(wave[None], torch.tensor([len(wave)]))
        assert batch_lengths[i] == lengths[0]
        torch.testing.assert_close(batch_feats[i, : lengths[0]], feats[0], atol=1e-5, rtol=1e-5)


def test_preemphasis_filters_and_dither_acts_in_training_only():
    wave = make_wave(4000, 0)[None]
    emphasised = LogMel(preemph=0.97).condition(wave)
    torch.testing.assert_close(emphasised[0, 1:], wave[0, 1:] - 0.97 * wave[0, :-1])
    assert emphasised[0, 0] == wave[0, 0]
    dithered = LogMel(dither=1e-2)
    assert torch.equal(dithered.eval().condition(wave), wave)
    noise = dithered.train().condition(wave) - wave
    assert 0.005 < noise.std() < 0.02


def test_n_fft_shorter_than_the_window_rejected():
    with pytest.raises(ValueError, match="n_fft"):
        LogMel(n_fft=256)


@pytest.mark.parametrize("cls", [LogMel, MFCC])
def test_top_db_keeps_padding_invariance(cls):
    frontend = cls(top_db=35.0).eval()
    utterances = [make_wave(6000, 0), make_wave(9001, 1), make_wave(250, 2)]
    batch_feats, batch_lengths = frontend(*pad_batch(utterances, 9500))
    for i, wave in enumerate(utterances):
        feats, lengths = frontend(wave[None], torch.tensor([len(wave)]))
        torch.testing.assert_close(batch_feats[i, : lengths[0]], feats[0], atol=1e-5, rtol=1e-5)


def test_top_db_floors_below_each_utterances_peak():
    quiet_then_loud = torch.cat([1e-4 * make_wave(4000, 0), make_wave(4000, 1)])
    waves, lengths = pad_batch([quiet_then_loud, 0.3 * make_wave(3000, 2)], 8000)
    feats, out_lengths = LogMel(normalize="none", top_db=20.0)(waves, lengths)
    depth = 20.0 * math.log(10.0) / 10.0
    for row, n in zip(feats, out_lengths.tolist(), strict=True):
        valid = row[:n]
        assert valid.min() == pytest.approx(valid.max().item() - depth, abs=1e-5)
    plain, _ = LogMel(normalize="none")(waves, lengths)
    assert plain[0, : out_lengths[0]].min() < feats[0, : out_lengths[0]].min() - 1.0


def test_top_db_makes_the_features_independent_of_the_recording_level():
    # A clip with near-silent stretches: 26 dB quieter, the fixed floor swallows them unless the
    # floor follows the utterance's peak.
    wave = torch.cat([1e-3 * make_wave(3000, 0), make_wave(4000, 1), 1e-3 * make_wave(3000, 2)])
    lengths = torch.tensor([len(wave)])
    for top_db, same in ((30.0, True), (None, False)):
        frontend = LogMel(top_db=top_db).eval()
        loud, _ = frontend(wave[None], lengths)
        quiet, _ = frontend(0.05 * wave[None], lengths)
        assert torch.allclose(loud, quiet, atol=1e-3) is same


def test_top_db_must_be_positive():
    with pytest.raises(ValueError, match="top_db"):
        LogMel(top_db=0.0)


def test_mfcc_is_the_dct_of_logmels_floored_alike():
    # The second utterance ends in silence, which the floor lifts.
    silent_end = torch.cat([make_wave(3000, 1), torch.zeros(2000)])
    waves, lengths = pad_batch([make_wave(6000, 0), silent_end], 6000)
    knobs = {"n_mels": 40, "f_min": 50.0, "f_max": 3000.0, "normalize": "none", "top_db": 30.0}
    mfcc, mfcc_lengths = MFCC(n_features=13, **knobs)(waves, lengths)
    mels, _ = LogMel(n_features=knobs.pop("n_mels"), **knobs)(waves, lengths)
    expected = mels @ MFCC(n_features=13, n_mels=40).dct.T
    for i, n in enumerate(mfcc_lengths.tolist()):
        torch.testing.assert_close(mfcc[i, :n], expected[i, :n], atol=1e-4, rtol=1e-4)
    unfloored, _ = MFCC(n_features=13, n_mels=40, f_min=50.0, f_max=3000.0, normalize="none")(
        waves, lengths
    )
    assert not torch.allclose(unfloored[1, : mfcc_lengths[1]], mfcc[1, : mfcc_lengths[1]])
