"""init_from: the named submodules come from the checkpoint, tensor for tensor, the rest stays
fresh; a mismatch is refused naming keys and shapes, or skipped and listed; a checkpoint that
would run code is refused."""

import hashlib
import json
import logging
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from asrlab.model.build import build_model
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import CharTokenizer
from asrlab.training.checkpoint import read_checkpoint
from asrlab.training.init_from import REPORT, InitMismatchError, init_from_checkpoint
from asrlab.trust.configs import UntrustedTargetError
from asrlab.trust.pickles import UnsafeCheckpointError
from helpers import compose_train, manifest_overrides
from test_safe_loading import crafted

# The tiny run's model (tests/conftest.py); `encoder.hidden_size=16` gives other shapes.
TINY = ["encoder.hidden_size=32", "encoder.num_layers=1"]


def _config(tiny_synth: dict[str, Path], run_dir: Path, *overrides: str) -> DictConfig:
    return compose_train([*manifest_overrides(tiny_synth), *TINY, *overrides], run_dir)


def _fresh(cfg: DictConfig, tokenizer: CharTokenizer | None = None) -> ASRModel:
    torch.manual_seed(0)
    return build_model(cfg, tokenizer or CharTokenizer(), texts=lambda: [])


def _source(tiny_run: Path) -> Path:
    return tiny_run / "checkpoints" / "last.ckpt"


@pytest.mark.parametrize("modules", [["encoder"], ["encoder", "head"], ["encoder.rnn"]])
def test_copies_exactly_the_named_modules(
    modules: list[str], tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    cfg = _config(tiny_synth, tmp_path)
    model, fresh = _fresh(cfg), _fresh(cfg).state_dict()
    record = init_from_checkpoint(
        model, model.tokenizer, _source(tiny_run), modules, True, tmp_path
    )

    source = read_checkpoint(_source(tiny_run))["state_dict"]
    copied = [k for k in fresh if any(k.startswith(f"{m}.") for m in modules)]
    assert copied and len(copied) < len(fresh)
    for key, value in model.state_dict().items():
        expected = source[key] if key in copied else fresh[key]
        assert torch.equal(value, expected), key
        if key in copied and value.is_floating_point():
            assert not torch.equal(value, fresh[key]), key  # the trained weights, not fresh ones
    sha256 = hashlib.sha256(_source(tiny_run).read_bytes()).hexdigest()
    assert record == {"path": str(_source(tiny_run).resolve()), "sha256": sha256}
    report = json.loads((tmp_path / REPORT).read_text())
    assert report["copied"] == sorted(copied) and report["skipped"] == []


def test_strict_refuses_other_shapes_naming_keys_and_both_shapes(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    model = _fresh(_config(tiny_synth, tmp_path, "encoder.hidden_size=16"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(InitMismatchError) as refused:
        init_from_checkpoint(model, model.tokenizer, _source(tiny_run), ["encoder"], True, tmp_path)
    message = str(refused.value)
    assert "\n" not in message and str(_source(tiny_run)) in message
    source = read_checkpoint(_source(tiny_run))["state_dict"]
    key = "encoder.rnn.bias_hh_l0"
    shapes = f"checkpoint {tuple(source[key].shape)}, model {tuple(before[key].shape)}"
    assert f"{key}: {shapes};" in message and "; 4 more (all in" in message
    assert "init.strict=false" in message
    report = json.loads((tmp_path / REPORT).read_text())
    assert len(report["skipped"]) == 8 and report["copied"] == []
    key = "encoder.rnn.weight_hh_l0"
    shapes = f"checkpoint {tuple(source[key].shape)}, model {tuple(before[key].shape)}"
    assert f"{key}: {shapes}" in report["skipped"]
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_a_module_absent_from_the_checkpoint_is_refused_or_skipped_and_listed(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoint = read_checkpoint(_source(tiny_run))
    state = checkpoint["state_dict"]
    checkpoint["state_dict"] = {k: v for k, v in state.items() if not k.startswith("head.")}
    headless = tmp_path / "headless.ckpt"
    torch.save(checkpoint, headless)
    cfg = _config(tiny_synth, tmp_path)
    model = _fresh(cfg)
    with pytest.raises(InitMismatchError, match="head: absent from the checkpoint"):
        init_from_checkpoint(model, model.tokenizer, headless, ["encoder", "head"], True, tmp_path)

    with caplog.at_level(logging.WARNING):
        init_from_checkpoint(model, model.tokenizer, headless, ["encoder", "head"], False, tmp_path)
    assert "skipped 1 (init.strict=false): head: absent from the checkpoint" in caplog.text
    assert torch.equal(model.encoder.rnn.weight_hh_l0, state["encoder.rnn.weight_hh_l0"])
    assert torch.equal(model.head.linear.weight, _fresh(cfg).head.linear.weight)
    report = json.loads((tmp_path / REPORT).read_text())
    assert report["skipped"][0].startswith("head: absent") and report["strict"] is False


def test_a_head_of_another_vocabulary_is_not_copied(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    cfg = _config(tiny_synth, tmp_path)
    reordered = CharTokenizer(alphabet=CharTokenizer().alphabet[::-1])  # same size, other ids
    model = _fresh(cfg, reordered)
    with pytest.raises(InitMismatchError, match="tokenizer: checkpoint 29 tokens, model 29"):
        init_from_checkpoint(
            model, reordered, _source(tiny_run), ["encoder", "head"], True, tmp_path
        )
    init_from_checkpoint(model, reordered, _source(tiny_run), ["encoder", "head"], False, tmp_path)
    assert torch.equal(model.head.linear.weight, _fresh(cfg, reordered).head.linear.weight)


def test_a_module_the_model_lacks_is_a_config_error(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    model = _fresh(_config(tiny_synth, tmp_path))
    with pytest.raises(
        InitMismatchError, match=r"init.modules: the model has no module encodr \(it has"
    ):
        init_from_checkpoint(model, model.tokenizer, _source(tiny_run), ["encodr"], True, tmp_path)


def test_refuses_a_checkpoint_that_would_run_code(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    path, marker = crafted(read_checkpoint(_source(tiny_run)), "posix.system", tmp_path / "bad")
    model = _fresh(_config(tiny_synth, tmp_path))
    with pytest.raises(UnsafeCheckpointError, match="posix.system"):
        init_from_checkpoint(model, model.tokenizer, path, ["encoder"], True, tmp_path)
    assert not marker.exists()


def test_refuses_a_checkpoint_whose_config_names_an_untrusted_target(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    checkpoint = read_checkpoint(_source(tiny_run))
    checkpoint["asrlab_config"]["encoder"]["_target_"] = "os.system"
    path = tmp_path / "untrusted.ckpt"
    torch.save(checkpoint, path)
    model = _fresh(_config(tiny_synth, tmp_path))
    with pytest.raises(UntrustedTargetError, match="asrlab_config.encoder._target_: os.system"):
        init_from_checkpoint(model, model.tokenizer, path, ["encoder"], True, tmp_path)
