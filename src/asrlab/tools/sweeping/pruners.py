"""The pruner a sweep's study uses, by name (`hydra.sweeper.pruner`), with its settings
(`hydra.sweeper.pruners.<name>`)."""

from collections.abc import Mapping
from typing import Any

import optuna

from asrlab.tools.sweeping.space import SweepConfigError

PRUNERS: dict[str, type[optuna.pruners.BasePruner]] = {
    "median": optuna.pruners.MedianPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "none": optuna.pruners.NopPruner,
}


def build_pruner(name: str, settings: Mapping[str, Mapping[str, Any]]) -> optuna.pruners.BasePruner:
    """The pruner `name` made with `settings[name]` (none for `none`)."""
    if name not in PRUNERS:
        raise SweepConfigError(
            f"hydra.sweeper.pruner={name}: unknown pruner; one of {', '.join(PRUNERS)}"
        )
    kwargs = dict(settings.get(name) or {})
    try:
        return PRUNERS[name](**kwargs)
    except (TypeError, ValueError) as err:
        raise SweepConfigError(f"hydra.sweeper.pruners.{name}: {err}") from None
