"""Every sequence head on both encoder families with experiment=fsdd_si (FSDD at 8 kHz, its
features and decoder): the composed config builds a model whose loss and decoding run. On
synth_digits the heads are built in tests/test_config.py and the grid trains in
tests/test_bench_heads.py."""

from pathlib import Path

import pytest
import torch

from asrlab.model.build import build_model, build_tokenizer
from helpers import compose_train, text_batch

TEXTS = ["one two", "nine"]


@pytest.mark.parametrize("encoder", ["gru", "conformer"])
@pytest.mark.parametrize("head", ["ctc", "rnnt", "aed", "ctc_aed"])
def test_fsdd_si_takes_any_head_and_encoder(encoder: str, head: str, tmp_path: Path) -> None:
    cfg = compose_train(["experiment=fsdd_si", f"encoder={encoder}", f"head={head}"], tmp_path)
    tokenizer = build_tokenizer(cfg, lambda: TEXTS)
    model = build_model(cfg, tokenizer, lambda: TEXTS)
    assert type(model.encoder).__name__.lower().startswith(encoder)
    rate = cfg.data.sample_rate
    torch.manual_seed(0)
    waves, lengths = 0.1 * torch.randn(2, rate // 2), torch.tensor([rate // 2, rate // 4])
    loss, _, _ = model.compute_objectives(text_batch(TEXTS, waves, lengths))
    assert torch.isfinite(loss)
    with torch.no_grad():
        assert len(model.eval().transcribe(waves, lengths)) == 2


@pytest.mark.parametrize("features", ["logmel", "mfcc", "librosa_logmel", "librosa_mfcc"])
def test_fsdd_si_takes_the_mel_frontends_with_its_floor(features: str, tmp_path: Path) -> None:
    cfg = compose_train(["experiment=fsdd_si", f"features={features}"], tmp_path)
    model = build_model(cfg, build_tokenizer(cfg, lambda: TEXTS), lambda: TEXTS)
    assert model.frontend.top_db == 35.0
    waves = torch.zeros(1, cfg.data.sample_rate // 2)
    waves[0, :1000] = 0.1 * torch.randn(1000)
    feats, lengths = model.frontend(waves, torch.tensor([waves.shape[1]]))
    assert feats.shape == (1, lengths[0], cfg.features.n_features)
    assert torch.isfinite(feats).all()
