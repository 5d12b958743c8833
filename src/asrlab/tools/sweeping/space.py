"""The search space of an Optuna sweep, from Hydra's sweep syntax: `choice(...)` (or `a,b`),
`range(...)`, `interval(...)`, `tag(log, interval(...))`."""

import re
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from hydra.errors import CompactHydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

_ABSENT = object()
# A string value that Hydra's override grammar reads as it is, unquoted.
_PLAIN = re.compile(r"[\w./:+-]*")


class SweepConfigError(CompactHydraException):
    """A sweep setting or search space that cannot be swept; Hydra prints the message alone."""


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override; ranges include their stop, as Hydra's
    Optuna sweeper 1.3 read them, and intervals are floats."""
    value = override.value()
    where = override.input_line
    if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(list(override.sweep_iterator(Transformer.encode)))
    if isinstance(value, RangeSweep):
        if any(isinstance(v, float) for v in (value.start, value.stop, value.step)):
            return FloatDistribution(value.start, value.stop, step=value.step)
        return IntDistribution(int(value.start), int(value.stop), step=int(value.step))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if log and value.start <= 0:
            raise SweepConfigError(f"{where}: a log interval must start above 0")
        if value.start >= value.end:
            raise SweepConfigError(f"{where}: an interval must start below its end")
        return FloatDistribution(value.start, value.end, log=log)
    raise SweepConfigError(f"{where}: Optuna cannot sweep this; use choice, range or interval")


def search_space(
    arguments: list[str], config: DictConfig
) -> tuple[dict[str, BaseDistribution], dict[str, str]]:
    """The distributions of the sweep overrides in `arguments` (`hydra.sweeper.params` first,
    then the command line's, so a later one replaces an earlier one) and the fixed values, each
    by its override key. A swept key must be in `config` (or be a config group, or be added with
    `+key=...`)."""
    try:
        parsed = OverridesParser.create().parse_overrides(arguments)
    except OverrideParseException as err:
        raise SweepConfigError(" ".join(str(err).splitlines()[:2])) from None
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    choices = config.hydra.runtime.choices if "hydra" in config else {}
    for override in parsed:
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if not override.is_sweep_override():
            fixed[key] = override.get_value_element_as_str()
            continue
        name = override.key_or_group
        known = name in choices or OmegaConf.select(config, name, default=_ABSENT) is not _ABSENT
        if not override.is_add() and not known:
            raise SweepConfigError(
                f"{override.input_line}: {name} is not in the config; "
                f"check its spelling, or add a new key with +{name}=..."
            )
        space[key] = distribution(override)
    return space, fixed


def trial_overrides(params: dict[str, Any], fixed: dict[str, str]) -> list[str]:
    """A trial's command-line overrides: its sampled `params` (strings quoted where the grammar
    needs it) and the `fixed` values (as written)."""
    quoted = {
        k: repr(v) if isinstance(v, str) and not _PLAIN.fullmatch(v) else v
        for k, v in params.items()
    }
    return [f"{key}={value}" for key, value in {**quoted, **fixed}.items()]
