"""One training run: compose -> seed -> data, model, trainer -> fit -> test -> metrics.json and
the per-utterance test errors (test_utterances.npz)."""

import functools
import json
import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Timer

from asrlab.data.source import training_texts
from asrlab.model.build import (
    build_datamodule,
    build_model,
    build_tokenizer,
    build_trainer,
)
from asrlab.training.bootstrap import wer_interval
from asrlab.training.callbacks.average import AverageCheckpoints
from asrlab.training.callbacks.optuna_pruning import OptunaPruning
from asrlab.training.preflight.joint import check_joint_size
from asrlab.training.preflight.run import preflight
from asrlab.training.run_info import run_info, write_run_info
from asrlab.training.threads import set_threads
from asrlab.training.utterances import UtteranceCounts

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train and test one configuration; writes run_info.json at the start and metrics.json at the
    end into the run folder."""
    run_dir = Path(cfg.paths.output_dir)
    info = run_info(cfg.seed, cfg.trainer.get("deterministic"), set_threads(cfg.get("threads")))
    write_run_info(run_dir, info)
    pl.seed_everything(cfg.seed, workers=True)

    texts = functools.cache(lambda: training_texts(cfg))
    tokenizer = build_tokenizer(cfg, texts)
    datamodule = build_datamodule(cfg, tokenizer)
    model = build_model(cfg, tokenizer, texts)
    preflight(cfg, datamodule, model)
    check_joint_size(datamodule, model)
    trainer = build_trainer(cfg)
    if cfg.get("optuna_trial"):  # a sweep trial whose study prunes
        trial = cfg.optuna_trial
        pruner = OmegaConf.to_container(trial.pruner)
        pruning = OptunaPruning(trial.storage, trial.study_name, trial.number, pruner, run_dir)
        trainer.callbacks.append(pruning)

    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    train_seconds = _train_seconds(trainer)  # before testing restores the best checkpoint's Timer

    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint is not None else ""
    # None when a run resumed in a copy of its folder (Lightning keeps only the best path then).
    best_score = checkpoint.best_model_score if best else None
    tested = _averaged_for_test(trainer) or best
    (test,) = trainer.test(model, datamodule=datamodule, ckpt_path=tested or None)
    ids, references, counts = model.test_utterance_errors.compute()
    utterances = UtteranceCounts.of(ids, references, counts.cpu().numpy().T)
    interval = wer_interval(utterances.word_errors, utterances.words) if len(utterances) else None
    metrics = {
        "test_wer": test["test/wer"],
        "test_wer_ci95": list(interval) if interval else None,
        "test_cer": test["test/cer"],
        "test_acc": test["test/acc"],
        "test_loss": test["test/loss"],
        "best_val_wer": float(best_score) if best_score is not None else None,
        "num_params": sum(p.numel() for p in model.parameters()),
        "train_seconds": train_seconds,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "best_checkpoint": _in_run(Path(best), run_dir) if best else None,
        "tested_checkpoint": _in_run(Path(tested), run_dir) if tested else None,
        **info,
    }
    if not trainer.is_global_zero:  # test metrics are synced across DDP ranks; rank 0 writes
        return metrics
    if len(utterances):
        utterances.save(run_dir)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _log_hparams(trainer, cfg, metrics)
    log.info(
        "test WER %.2f%%, CER %.2f%% after %s s of training; run folder: %s",
        100 * metrics["test_wer"],
        100 * metrics["test_cer"],
        metrics["train_seconds"],
        run_dir,
    )
    return metrics


def _train_seconds(trainer: pl.Trainer) -> float | None:
    """Seconds of training over all the run's parts, to 0.01 s: the `Timer` callback's (which
    checkpoints carry to a resumed part); None when the callbacks have no Timer."""
    timers = [c for c in trainer.callbacks if isinstance(c, Timer)]
    return round(timers[0].time_elapsed("train"), 2) if timers else None


def _averaged_for_test(trainer: pl.Trainer) -> str:
    """The averaged checkpoint of `callbacks=average` when its `test` option asks the test stage
    to use it; else ''."""
    averaged = [c for c in trainer.callbacks if isinstance(c, AverageCheckpoints) and c.test]
    return str(averaged[0].path) if averaged and averaged[0].path else ""


def _in_run(path: Path, run_dir: Path) -> str:
    """`path` relative to the run folder; absolute if outside it (a run resumed in a copy of its
    folder keeps the original's best checkpoint)."""
    return str(path.relative_to(run_dir) if path.is_relative_to(run_dir) else path.absolute())


def _log_hparams(trainer: pl.Trainer, cfg: DictConfig, metrics: dict[str, Any]) -> None:
    """The chosen config parts and the final metrics, for TensorBoard's hparams tab."""
    parts = ("data", "features", "augment", "encoder", "decoder", "optimizer", "scheduler")
    params = {part: OmegaConf.to_container(cfg[part], resolve=True) for part in parts}
    params.update(seed=cfg.seed, max_epochs=cfg.trainer.max_epochs)
    scored = ("test_", "best_val", "num_params", "train_seconds")
    scores = {
        f"hp/{k}": v
        for k, v in metrics.items()
        if k.startswith(scored) and isinstance(v, int | float)
    }
    for logger in trainer.loggers:
        logger.log_hyperparams(params, metrics=scores)
        logger.finalize("success")
