"""One training run: compose -> seed -> data, model, trainer -> fit -> test -> metrics.json and
the per-utterance test errors (test_utterances.npz)."""

import functools
import json
import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from asrlab.data.datamodule import ASRDataModule
from asrlab.data.folds import fold_of
from asrlab.data.source import training_texts
from asrlab.model.build import (
    build_datamodule,
    build_model,
    build_tokenizer,
    build_trainer,
)
from asrlab.storage import write_atomically
from asrlab.training.bootstrap import wer_interval
from asrlab.training.callbacks.average import AverageCheckpoints
from asrlab.training.callbacks.optuna_pruning import OptunaPruning
from asrlab.training.hparams import hparams
from asrlab.training.init_from import init_from_checkpoint
from asrlab.training.loggers import ending_runs, log_summary
from asrlab.training.preflight.joint import check_joint_size
from asrlab.training.preflight.positions import check_positions
from asrlab.training.preflight.run import preflight
from asrlab.training.run_info import RUN_INFO, run_info, write_run_info
from asrlab.training.threads import set_threads
from asrlab.training.train_time import train_seconds
from asrlab.training.utterances import UtteranceCounts

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train and test one configuration; writes run_info.json at the start and metrics.json at the
    end into the run folder."""
    with ending_runs():
        return _train(cfg)


def _train(cfg: DictConfig) -> dict[str, Any]:
    run_dir = Path(cfg.paths.output_dir)
    info = run_info(cfg.seed, cfg.trainer.get("deterministic"), set_threads(cfg.get("threads")))
    info |= _recorded_init(run_dir) if cfg.ckpt_path is not None else {}
    write_run_info(run_dir, info)
    pl.seed_everything(cfg.seed, workers=True)

    texts = functools.cache(lambda: training_texts(cfg))
    tokenizer = build_tokenizer(cfg, texts)
    datamodule = build_datamodule(cfg, tokenizer)
    model = build_model(cfg, tokenizer, texts)
    if cfg.get("init_from") is not None and cfg.ckpt_path is None:
        init = cfg.init
        info["init_from"] = init_from_checkpoint(
            model, tokenizer, cfg.init_from, list(init.modules), init.strict, run_dir
        )
        write_run_info(run_dir, info)
    elif cfg.get("init_from") is not None:
        log.info("init_from not applied: ckpt_path=%s restores every weight", cfg.ckpt_path)
    preflight(cfg, datamodule, model)
    fold = _record_fold(run_dir, datamodule)
    check_joint_size(datamodule, model)
    check_positions(datamodule, model)
    trainer = build_trainer(cfg)
    if cfg.get("optuna_trial"):  # a sweep trial whose study prunes
        trial = cfg.optuna_trial
        pruner = OmegaConf.to_container(trial.pruner)
        monitor = trial.get("monitor", "val/wer")  # trials of sweeps before pruning_metric
        pruning = OptunaPruning(
            trial.storage, trial.study_name, trial.number, pruner, run_dir, monitor
        )
        trainer.callbacks.append(pruning)

    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    seconds = train_seconds(trainer)  # before testing restores the best checkpoint's Timer

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
        "train_seconds": seconds,
        **model.decode_speed.compute(),
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "best_checkpoint": _in_run(Path(best), run_dir) if best else None,
        "tested_checkpoint": _in_run(Path(tested), run_dir) if tested else None,
        **fold,
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


def _recorded_init(run_dir: Path) -> dict[str, Any]:
    """A resumed run's `init_from` record, from its first part's run_info.json: `ckpt_path`
    restores every weight, so `init_from` is not applied again."""
    recorded = run_dir / RUN_INFO
    if not recorded.is_file():
        return {}
    init = json.loads(recorded.read_text()).get("init_from")
    return {"init_from": init} if init is not None else {}


def _record_fold(run_dir: Path, datamodule: ASRDataModule) -> dict[str, Any]:
    """`{"speaker_fold": ...}`, the speakers a run in speaker folds holds out (data.source.folds),
    also written to the run folder's speaker_fold.json; `{}` for other runs."""
    fold = fold_of(datamodule.source)
    if fold is None:
        return {}
    text = json.dumps(fold.record(), indent=2) + "\n"
    write_atomically(run_dir / "speaker_fold.json", lambda path: path.write_text(text))
    return {"speaker_fold": fold.record()}


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
    """The chosen options and swept numbers (`training.hparams`) and the final metrics, to every
    logger (TensorBoard: its hparams tab)."""
    scored = ("test_", "best_val", "num_params", "train_seconds", "decode_rtf")
    scores = {
        f"hp/{k}": v
        for k, v in metrics.items()
        if k.startswith(scored) and isinstance(v, int | float)
    }
    log_summary(trainer.loggers, hparams(cfg), scores, trainer.global_step)
