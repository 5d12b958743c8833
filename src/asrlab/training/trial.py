"""A Hydra job as sweepers need it: its optimised metric, or a recorded failure."""

import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig

log = logging.getLogger(__name__)


def run_trial(
    task: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig
) -> float | list[float] | None:
    """`task(cfg)`'s metrics' `cfg.optimized_metric` (a list of them for a list of names), for
    sweepers to minimise.

    In a multirun a failing trial writes error.json into its folder, then raises a RuntimeError
    with the message (plain, so that it pickles back from a launcher's worker process): the
    Optuna sweeper records the trial as failed and goes on, up to `hydra.sweeper.max_failure_rate`.
    A single run fails with the exception itself. A trial that its study's pruner stopped
    raises `optuna.TrialPruned` (its folder holds pruned.json).
    """
    try:
        metrics = task(cfg)
    except optuna.TrialPruned:
        raise
    except Exception as error:
        hydra_cfg = HydraConfig.get()
        if hydra_cfg.mode != RunMode.MULTIRUN:
            raise
        message = " ".join(f"{type(error).__name__}: {error}".split())  # one line, for listings
        path = Path(hydra_cfg.runtime.output_dir) / "error.json"
        failure = {
            "error": message,
            "traceback": traceback.format_exc(),
            "overrides": list(hydra_cfg.overrides.task),
        }
        path.write_text(json.dumps(failure, indent=2) + "\n")
        log.exception("trial %s failed; details in %s", hydra_cfg.job.num, path)
        raise RuntimeError(f"{message} (details in {path})") from error
    if isinstance(cfg.optimized_metric, ListConfig):
        return [metrics.get(name) for name in cfg.optimized_metric]
    return metrics.get(cfg.optimized_metric)
