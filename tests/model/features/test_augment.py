import inspect

import pytest
import torch

from asrlab.model.augment.features import Compose, FrequencyWarp, SpecAugment
from asrlab.model.augment.waveform import AddNoise, SpeedPerturb
from asrlab.model.build import build_augment
from helpers import compose_train

LENGTHS = torch.tensor([200, 120, 37])


def make_feats() -> torch.Tensor:
    """(3, 200, 80) features that are never 0, padding included, so any mask is visible."""
    gen = torch.Generator().manual_seed(0)
    return torch.rand(3, 200, 80, generator=gen) + 1.0


def augment(module: torch.nn.Module, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    out, lengths = module.train()(make_feats(), LENGTHS)
    assert torch.equal(lengths, LENGTHS)
    return out


def test_identity_in_eval():
    feats = make_feats()
    assert torch.equal(SpecAugment().eval()(feats, LENGTHS)[0], feats)


def test_changes_features_in_train():
    assert not torch.equal(augment(SpecAugment(), seed=0), make_feats())


def test_reproducible_with_seed():
    assert torch.equal(augment(SpecAugment(), seed=3), augment(SpecAugment(), seed=3))
    assert not torch.equal(augment(SpecAugment(), seed=3), augment(SpecAugment(), seed=4))


@pytest.mark.parametrize("seed", range(20))
def test_masks_are_bands_inside_valid_frames(seed):
    feats = make_feats()
    out = augment(SpecAugment(freq_width=30, time_width=0.2), seed)
    masked = out != feats
    assert torch.all(out[masked] == 0)
    for i, length in enumerate(LENGTHS.tolist()):
        assert torch.equal(out[i, length:], feats[i, length:])
        valid = masked[i, :length]
        time_rows = valid.all(dim=1, keepdim=True)
        freq_columns = valid.all(dim=0, keepdim=True)
        assert torch.equal(valid, time_rows | freq_columns)


@pytest.mark.parametrize("seed", range(20))
def test_time_mask_width_follows_each_length(seed):
    module = SpecAugment(freq_masks=0, time_masks=1, time_width=0.1, max_time_width=15)
    masked_rows = (augment(module, seed) == 0).all(dim=2).sum(dim=1)
    assert torch.all(masked_rows < torch.tensor([15, 12, 3]))


def test_uncapped_time_mask_width_is_a_fraction_of_each_length():
    module = SpecAugment(freq_masks=0, time_masks=1, time_width=0.5, max_time_width=None)
    widths = torch.stack([(augment(module, seed) == 0).all(dim=2).sum(dim=1) for seed in range(40)])
    assert torch.all(widths < torch.tensor([100, 60, 18]))
    assert widths[:, 0].max() > 40  # the default cap's width


def test_compose_applies_in_order_and_empty_is_identity():
    feats = make_feats()
    assert torch.equal(Compose([]).train()(feats, LENGTHS)[0], feats)
    torch.manual_seed(0)
    composed, _ = Compose([SpecAugment(), SpecAugment()]).train()(feats, LENGTHS)
    torch.manual_seed(0)
    once, _ = SpecAugment().train()(feats, LENGTHS)
    assert torch.equal(composed, SpecAugment().train()(once, LENGTHS)[0])
    assert torch.equal(Compose([SpecAugment()]).eval()(feats, LENGTHS)[0], feats)


def test_config_options_combine_into_two_stages(tmp_path):
    cfg = compose_train(["augment=[speed,noise,specaugment]"], tmp_path)
    waveform, features = build_augment(cfg.augment.waveform), build_augment(cfg.augment.features)
    assert [type(t) for t in waveform.transforms] == [SpeedPerturb, AddNoise]
    (spec_augment,) = features.transforms
    defaults = {k: p.default for k, p in inspect.signature(SpecAugment).parameters.items()}
    assert {k: getattr(spec_augment, k) for k in defaults} == defaults
    none = compose_train(["augment=none"], tmp_path).augment
    assert (
        not build_augment(none.waveform).transforms and not build_augment(none.features).transforms
    )


def test_frequency_warp_moves_a_peak_and_keeps_padding():
    feats = torch.zeros(2, 10, 40)
    feats[:, :6, 20] = 1.0
    torch.manual_seed(0)
    module = FrequencyWarp(max_warp=0.2).train()
    out, lengths = module(feats, torch.tensor([6, 6]))
    assert torch.equal(lengths, torch.tensor([6, 6]))
    peaks = out[:, 0].argmax(dim=1)
    assert torch.all((peaks >= 16) & (peaks <= 25)) and not torch.equal(out, feats)
    assert torch.all(out[:, 6:] == 0)
    assert torch.equal(module.eval()(feats, lengths)[0], feats)
