"""A Hydra callback for conf/hydra/default.yaml: which keys name a multirun's trial folders
(`${asrlab.trial_dir:...}`, in `asrlab.training.resolvers`)."""

from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write


class SweptKeysOnly(Callback):
    """Adds a multirun's fixed command-line overrides (those that are not sweeps) to every
    trial's `hydra.job.config.override_dirname.exclude_keys`, so that `trial_dir` names a trial
    by the values that differ between trials: the swept keys and the sweeper's parameters."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        parsed = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
        fixed = [o.key_or_group for o in parsed if not o.is_sweep_override()]
        excluded = [*config.hydra.job.config.override_dirname.exclude_keys, *fixed]
        quoted = ",".join(f"'{key}'" for key in excluded)
        # Each trial's config is composed again from the hydra overrides: this one reaches them.
        with read_write(config.hydra), open_dict(config.hydra):
            config.hydra.overrides.hydra.append(
                f"hydra.job.config.override_dirname.exclude_keys=[{quoted}]"
            )
            config.hydra.job.config.override_dirname.exclude_keys = excluded
