"""Why two rows of RESULTS.md with the same experiment, test set and overrides are two rows: the
config keys in which their runs differ, as when a later commit added a key or changed a
default between the seeds of one recipe."""

import json
from collections.abc import Sequence
from itertools import groupby, pairwise
from typing import Any

from asrlab.tools.compare.replicates import REPLICATE_KEYS, Replicates
from asrlab.tools.compare.runs import ABSENT, varied_config_keys

SHOWN_KEYS = 3
"""Differing keys named per pair of rows; the rest are counted."""


def _config(group: Replicates) -> dict[str, Any]:
    """The config of the group's first run (finished, else failed): all share it but the seed."""
    run = (group.runs or group.failed)[0]
    return run.config or {}


def _value(value: Any) -> str:
    return "absent" if value is ABSENT else f"`{json.dumps(value, default=str)}`"


def differing_keys(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """`key: first's value -> second's` for each key (seed and fold left out) that differs."""
    keys = sorted(set(varied_config_keys([first, second])) - REPLICATE_KEYS)
    return [
        f"`{key}`: {_value(first.get(key, ABSENT))} -> {_value(second.get(key, ABSENT))}"
        for key in keys
    ]


def row_differences(groups: Sequence[Replicates]) -> list[str]:
    """A markdown list item per row that repeats the previous row's experiment, test set and
    overrides (groups come sorted by those), naming the config keys between the two."""
    lines = []
    for _, same in groupby(groups, key=lambda g: (g.experiment, g.test_set, g.overrides)):
        rows = list(same)
        for before, after in pairwise(rows):
            keys = differing_keys(_config(before), _config(after))
            more = len(keys) - SHOWN_KEYS
            shown = "; ".join(keys[:SHOWN_KEYS]) + (f"; and {more} more" if more > 0 else "")
            lines.append(f"- `{before.config_hash}` -> `{after.config_hash}`: {shown}")
    return lines
