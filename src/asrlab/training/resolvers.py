"""The OmegaConf resolvers asrlab's configs use, registered on import (by `import asrlab`).

`${asrlab.cwd:}` is Hydra's `runtime.cwd` in a job, and the process's folder before any job
runs: a multirun resolves its sweep folder (through `paths.log_dir`) before Hydra's job config
exists, so `${hydra:runtime.cwd}` cannot be used there.

`${asrlab.trial_dir:...}` names a trial's folder by its job number and the keys the sweep
varies, short and safe for any file system; `sweep_dirs.SweptKeysOnly` tells it which keys
those are. The full overrides stay in the trial's `.hydra/`.

Hydra is imported only when a resolver runs, so that tools that read configs without composing
them (asrlab-compare) start without it.
"""

import os
import re

from omegaconf import OmegaConf

# Characters kept in a trial's folder name; any other run of characters becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._,=+-]+")
MAX_VALUE_CHARS = 24
MAX_NAME_CHARS = 100


def working_dir() -> str:
    """Hydra's `runtime.cwd` inside a job, else the current folder."""
    from hydra.core.hydra_config import HydraConfig

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


for _name, _resolver in [("asrlab.cwd", working_dir), ("asrlab.trial_dir", trial_dir)]:
    if not OmegaConf.has_resolver(_name):
        OmegaConf.register_new_resolver(_name, _resolver)
