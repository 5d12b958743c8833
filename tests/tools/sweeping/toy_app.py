"""A Hydra app swept by asrlab's Optuna sweeper in tests, quick to start: its `outcome`
parameter makes a trial complete (returning `value`), fail, get pruned, or hang until killed
the first time (`hang`, which creates the file `hung`) and complete when asked again."""

import time
from pathlib import Path

import hydra
import optuna
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=None)
def main(cfg: DictConfig) -> float:
    if cfg.outcome == "fail":
        raise ValueError("a failing toy trial")
    if cfg.outcome == "prune":
        raise optuna.TrialPruned("a pruned toy trial")
    if cfg.outcome == "hang" and not Path(cfg.hung).exists():
        Path(cfg.hung).touch()
        time.sleep(600)
    return float(cfg.value)


if __name__ == "__main__":
    main()
