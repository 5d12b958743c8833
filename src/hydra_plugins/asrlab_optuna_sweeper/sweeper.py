"""The `asrlab_optuna` sweeper's Hydra plugin class and its config (the `hydra.sweeper` keys)."""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class AsrlabOptunaSweeper(Sweeper):
    """Hydra's face of `asrlab.tools.sweeping.sweeper.OptunaSweep`, imported on first use so
    that Hydra's plugin scan, which imports this module in every asrlab command, stays quick."""

    def __init__(self, **settings: Any) -> None:
        from asrlab.tools.sweeping.sweeper import OptunaSweep

        self.sweep_impl = OptunaSweep(**settings)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.sweep_impl.setup(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> None:
        self.sweep_impl.sweep(arguments)


@dataclass
class AsrlabOptunaSweeperConf:
    """docs/sweeps.md describes each key."""

    _target_: str = "hydra_plugins.asrlab_optuna_sweeper.sweeper.AsrlabOptunaSweeper"
    sampler: Any = field(
        default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None}
    )
    # minimize or maximize, or a list of them for as many metrics (`optimized_metric` a list).
    direction: Any = "minimize"
    # An RDB URL (sqlite:///optuna.db, postgresql://...); null: optuna.db in the sweep folder.
    storage: str | None = None
    study_name: str | None = None
    n_trials: int = 20
    n_jobs: int = 2
    max_failure_rate: float = 1.0
    # median, successive_halving, hyperband or none; its settings are pruners.<name>.
    pruner: str = "successive_halving"
    # The validation metric (lower is better) each trial reports to the pruner after each epoch.
    pruning_metric: str = "val/loss"
    pruners: dict[str, Any] = field(
        default_factory=lambda: {
            "median": {"n_startup_trials": 5, "n_warmup_steps": 1},
            "successive_halving": {"min_resource": 1, "reduction_factor": 3},
            "hyperband": {"min_resource": 1, "max_resource": "auto", "reduction_factor": 3},
            "none": {},
        }
    )
    # Seconds between a running trial's heartbeats; silent for twice as long, it is stale.
    heartbeat_interval: int = 10
    params: dict[str, str] | None = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="asrlab_optuna", node=AsrlabOptunaSweeperConf, provider="asrlab"
)
