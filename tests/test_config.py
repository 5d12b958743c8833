"""Every option of every config group composes and instantiates into working parts."""

import sys
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate

import asrlab
from asrlab.model.build import build_datamodule, build_loggers, build_model, build_tokenizer
from asrlab.model.heads.ctc import CTCHead
from helpers import compose_train

CONF = Path(asrlab.__file__).parent / "conf"
MODEL_GROUPS = [
    "features",
    "augment",
    "encoder",
    "head",
    "decoder",
    "tokenizer",
    "optimizer",
    "scheduler",
]
TEXTS = ["one two three", "four five", "six seven eight nine zero", "one two"]


def _texts() -> list[str]:
    return TEXTS


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml") if not p.stem.startswith("_"))


@pytest.mark.parametrize(
    "override",
    [f"{group}={option}" for group in MODEL_GROUPS for option in _options(group)],
)
def test_model_options_build_a_model_that_runs(override: str, tmp_path: Path) -> None:
    cfg = compose_train([override], tmp_path)
    tokenizer = build_tokenizer(cfg, _texts)
    model = build_model(cfg, tokenizer, _texts)
    optimizer = model.optimizer_factory(model.parameters())
    scheduler = model.scheduler_factory(optimizer, total_steps=10)
    waves = torch.randn(2, 16000)
    scores, lengths = model(waves, torch.tensor([16000, 12000]))
    assert lengths[0] > lengths[1]
    if override == "head=classifier":
        assert scores.shape == (2, len(set(TEXTS)))
    elif override in ("head=aed", "head=ctc_aed"):  # the encoder memory its decoder attends to
        assert scores.shape == (2, lengths.max(), cfg.head.d_model)
    elif override == "head=rnnt":  # encoder states in the joint space
        assert scores.shape[::2] == (2, cfg.head.joint_dim) and lengths.max() == scores.shape[1]
    else:
        assert scores.shape[0] == 2 and scores.shape[-1] == tokenizer.vocab_size
        assert lengths.max() == scores.shape[1]
    assert len(model.transcribe(waves, torch.tensor([16000, 12000]))) == 2
    optimizer.step()
    scheduler.step()


@pytest.mark.parametrize("option", _options("data"))
def test_data_options_instantiate(option: str, tmp_path: Path) -> None:
    overrides = [f"data={option}"]
    if option in ("manifest", "lhotse"):
        suffix = ".jsonl" if option == "manifest" else "_cuts.jsonl.gz"
        overrides += [f"data.source.{s}={tmp_path}/{s}{suffix}" for s in ("train", "val", "test")]
    cfg = compose_train(overrides, tmp_path)
    datamodule = build_datamodule(cfg, instantiate(cfg.tokenizer))
    assert datamodule.sample_rate == cfg.data.sample_rate


@pytest.mark.parametrize("option", _options("trainer"))
def test_trainer_logger_and_callbacks_instantiate(option: str, tmp_path: Path) -> None:
    cfg = compose_train([f"trainer={option}"], tmp_path)
    if cfg.trainer.accelerator == "gpu" and not torch.cuda.is_available():
        pytest.skip("trainer=gpu needs a CUDA device; composed only")
    callbacks = [instantiate(c) for c in cfg.callbacks.values()]
    loggers = [instantiate(c) for c in cfg.logger.values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    assert Path(trainer.logger.log_dir) == tmp_path / "tensorboard"
    assert trainer.checkpoint_callback.dirpath == str(tmp_path / "checkpoints")


def test_loggers_compose_as_a_list_each_writing_into_the_run_folder(tmp_path: Path) -> None:
    cfg = compose_train(["logger=[tensorboard,csv,mlflow,wandb]"], tmp_path)
    assert list(cfg.logger) == ["tensorboard", "csv", "mlflow", "wandb"]
    assert cfg.logger.csv.save_dir == cfg.logger.wandb.save_dir == str(tmp_path)
    assert cfg.logger.mlflow.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert cfg.logger.wandb.offline


def test_a_logger_without_its_package_is_refused_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    cfg = compose_train(["logger=[csv,mlflow]"], tmp_path)
    message = 'logger.mlflow needs the mlflow package, .*: pip install -e ".\\[loggers\\]"'
    with pytest.raises(ModuleNotFoundError, match=message):
        build_loggers(cfg)


def test_dimensions_are_linked_by_interpolation(tmp_path: Path) -> None:
    cfg = compose_train(["features=mfcc", "features.n_features=13"], tmp_path)
    assert cfg.encoder.input_dim == 13


def test_an_encoder_input_dim_other_than_the_features_is_refused(tmp_path: Path) -> None:
    cfg = compose_train(["encoder.input_dim=40"], tmp_path)  # logmel: 80 features
    with pytest.raises(ValueError, match="encoder.input_dim=40 but features.n_features=80: "):
        build_model(cfg, build_tokenizer(cfg), _texts)


def test_unknown_key_and_option_fail_at_composition(tmp_path: Path) -> None:
    with pytest.raises(ConfigCompositionException, match="hiden_size"):
        compose_train(["encoder.hiden_size=3"], tmp_path)
    with pytest.raises(ConfigCompositionException, match="grux"):
        compose_train(["encoder=grux"], tmp_path)


@pytest.mark.parametrize("option", _options("experiment"))
def test_experiments_compose_into_a_model_and_data_module(option: str, tmp_path: Path) -> None:
    cfg = compose_train([f"experiment={option}"], tmp_path)
    tokenizer = build_tokenizer(cfg, _texts)
    model = build_model(cfg, tokenizer, _texts)
    datamodule = build_datamodule(cfg, tokenizer)
    assert datamodule.sample_rate == cfg.data.sample_rate == cfg.features.sample_rate
    wave, length = torch.randn(1, cfg.data.sample_rate), torch.tensor([cfg.data.sample_rate])
    if isinstance(model.head, CTCHead):
        log_probs, _ = model(wave, length)
        assert log_probs.shape[-1] == tokenizer.vocab_size
    assert len(model.transcribe(wave, length)) == 1


def test_nemo_like_sets_each_nemo_knob(tmp_path: Path) -> None:
    cfg = compose_train(["experiment=nemo_like"], tmp_path)
    model = build_model(cfg, build_tokenizer(cfg, _texts), _texts)
    frontend, specaugment = model.frontend, model.augment.transforms[0]
    assert (frontend.frame_length, frontend.center, frontend.dither) == (512, True, 1e-5)
    assert frontend.preemph == 0.97 and model.head.reduction == "mean_batch"
    assert (specaugment.time_masks, specaugment.max_time_width) == (10, None)
    assert cfg.scheduler.warmup_ratio == 0.15 and cfg.data.num_buckets == 1
    assert list(cfg.optimizer.betas) == [0.9, 0.98] and cfg.optimizer.weight_decay == 0.01
    assert cfg.trainer.gradient_clip_val == 0.0
