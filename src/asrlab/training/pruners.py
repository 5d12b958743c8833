"""Optuna's pruners by name (`hydra.sweeper.pruner`), with their settings: the sweep's study
and each trial's run (which decides whether to stop) build the same one."""

from collections.abc import Mapping
from typing import Any

import optuna

PRUNERS: dict[str, type[optuna.pruners.BasePruner]] = {
    "median": optuna.pruners.MedianPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "none": optuna.pruners.NopPruner,
}


def build_pruner(name: str, settings: Mapping[str, Any]) -> optuna.pruners.BasePruner:
    """The pruner `name` made with `settings`; a ValueError naming the bad one otherwise."""
    if name not in PRUNERS:
        raise ValueError(
            f"hydra.sweeper.pruner={name}: unknown pruner; one of {', '.join(PRUNERS)}"
        )
    try:
        return PRUNERS[name](**settings)
    except (TypeError, ValueError) as err:
        raise ValueError(f"hydra.sweeper.pruners.{name}: {err}") from None
