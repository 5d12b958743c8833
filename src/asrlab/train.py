"""asrlab-train: compose -> seed -> data, model, trainer -> fit -> test -> metrics.json.

Returns the optimised metric, so Hydra sweepers can minimise it.
"""

import functools
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from asrlab.build import (
    build_datamodule,
    build_model,
    build_tokenizer,
    build_trainer,
    training_texts,
)
from asrlab.diagnose.preflight import preflight
from asrlab.evaluation.bootstrap import wer_interval
from asrlab.run_info import run_info, write_run_info
from asrlab.trial import run_trial
from asrlab.trust import UntrustedTargetError, check_command_line

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train and test one configuration; writes run_info.json at the start and metrics.json at the
    end into the run folder."""
    run_dir = Path(cfg.paths.output_dir)
    info = run_info(cfg.seed, cfg.trainer.get("deterministic"))
    write_run_info(run_dir, info)
    pl.seed_everything(cfg.seed, workers=True)

    texts = functools.cache(lambda: training_texts(cfg))
    tokenizer = build_tokenizer(cfg, texts)
    datamodule = build_datamodule(cfg, tokenizer)
    model = build_model(cfg, tokenizer, texts)
    preflight(cfg, datamodule, model)
    trainer = build_trainer(cfg)

    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    train_seconds = time.perf_counter() - start

    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint is not None else ""
    (test,) = trainer.test(model, datamodule=datamodule, ckpt_path=best or None)
    errors, words = (t.cpu().numpy() for t in model.test_utterance_errors.compute())
    metrics = {
        "test_wer": test["test/wer"],
        "test_wer_ci95": list(wer_interval(errors, words)) if len(errors) else None,
        "test_cer": test["test/cer"],
        "test_acc": test["test/acc"],
        "test_loss": test["test/loss"],
        "best_val_wer": float(checkpoint.best_model_score) if best else None,
        "num_params": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(train_seconds, 2),
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "best_checkpoint": str(Path(best).relative_to(run_dir)) if best else None,
        **info,
    }
    if not trainer.is_global_zero:  # test metrics are synced across DDP ranks; rank 0 writes
        return metrics
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _log_hparams(trainer, cfg, metrics)
    log.info(
        "test WER %.2f%%, CER %.2f%% after %.0f s of training; run folder: %s",
        100 * metrics["test_wer"],
        100 * metrics["test_cer"],
        train_seconds,
        run_dir,
    )
    return metrics


def _log_hparams(trainer: pl.Trainer, cfg: DictConfig, metrics: dict[str, Any]) -> None:
    """The chosen config parts and the final metrics, for TensorBoard's hparams tab."""
    parts = ("data", "features", "augment", "encoder", "decoder", "optimizer", "scheduler")
    params = {part: OmegaConf.to_container(cfg[part], resolve=True) for part in parts}
    params.update(seed=cfg.seed, max_epochs=cfg.trainer.max_epochs)
    scores = {
        f"hp/{k}": v
        for k, v in metrics.items()
        if k.startswith(("test_", "best_val")) and isinstance(v, int | float)
    }
    scores.update(
        {"hp/num_params": metrics["num_params"], "hp/train_seconds": metrics["train_seconds"]}
    )
    for logger in trainer.loggers:
        logger.log_hyperparams(params, metrics=scores)
        logger.finalize("success")


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def _main(cfg: DictConfig) -> float | None:
    """Train; returns `cfg.optimized_metric` (a failing sweep trial: see `run_trial`)."""
    return run_trial(train, cfg)


def main() -> None:
    """asrlab-train; a config from a `--config-path` folder is checked (asrlab.trust) before
    Hydra reads its logging settings or instantiates anything."""
    try:
        check_command_line(sys.argv[1:])
    except UntrustedTargetError as err:
        raise SystemExit(f"asrlab-train: {err}") from None
    _main()


if __name__ == "__main__":
    main()
