"""Where runs and sweep trials write: resolvers and a Hydra callback for conf/hydra/default.yaml.

`${asrlab.cwd:}` is Hydra's `runtime.cwd` in a job, and the process's folder before any job
runs: a multirun resolves its sweep folder (through `paths.log_dir`) before Hydra's job config
exists, so `${hydra:runtime.cwd}` cannot be used there.

`${asrlab.trial_dir:...}` names a trial's folder by its job number and the keys the sweep
varies, short and safe for any file system; `SweptKeysOnly` tells it which keys those are. The
full overrides stay in the trial's `.hydra/`.
"""

import os
import re
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

# Characters kept in a trial's folder name; any other run of characters becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._,=+-]+")
MAX_VALUE_CHARS = 24
MAX_NAME_CHARS = 100


def working_dir() -> str:
    """Hydra's `runtime.cwd` inside a job, else the current folder."""
    if HydraConfig.initialized():
        return HydraConfig.get().runtime.cwd
    return os.getcwd()


def trial_dir(num: int, overrides: list[str], exclude_keys: list[str]) -> str:
    """`N_key=value,...`: job number `num` and the `overrides` whose keys are not in
    `exclude_keys`, each value cut to MAX_VALUE_CHARS, the whole to MAX_NAME_CHARS, unsafe
    characters replaced; `N` alone when no override is left."""
    items = []
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") not in exclude_keys:
            items.append(f"{key}={value[:MAX_VALUE_CHARS]}")
    name = f"{num}_{','.join(items)}" if items else str(num)
    return _UNSAFE.sub("_", name)[:MAX_NAME_CHARS]


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


for _name, _resolver in [("asrlab.cwd", working_dir), ("asrlab.trial_dir", trial_dir)]:
    if not OmegaConf.has_resolver(_name):
        OmegaConf.register_new_resolver(_name, _resolver)
