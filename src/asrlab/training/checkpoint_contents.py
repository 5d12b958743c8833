"""What a checkpoint must hold before any tool reads it: a file from someone else may unpickle
weights-only (`asrlab.trust.pickles`) and still hold a list where a mapping belongs, a string
where a tensor belongs, or weights that are not finite. Each is named by file and key."""

from pathlib import Path
from typing import Any

import torch

EXTRA_STATE = "._extra_state"
"""A module's non-tensor state in a state_dict (`get_extra_state`): a mapping."""


class CheckpointError(ValueError):
    """A checkpoint that is not what asrlab-train writes; the message names file and key."""


def checked_contents(path: str | Path, contents: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """`contents`, once it is a mapping holding `keys`, where `state_dict` maps names to finite
    tensors (a `*._extra_state` to a mapping), `asrlab_config`, `tokenizer` and `callbacks` are
    mappings, and `epoch` and `global_step` integers; else CheckpointError."""
    if not isinstance(contents, dict):
        raise CheckpointError(f"{path}: not a checkpoint (a {type(contents).__name__})")
    if missing := [key for key in keys if key not in contents]:
        raise CheckpointError(f"{path}: not an asrlab checkpoint: no {', '.join(missing)}")
    kinds = {"state_dict": dict, "asrlab_config": dict, "tokenizer": dict, "callbacks": dict}
    for key, kind in {**kinds, "epoch": int, "global_step": int}.items():
        if key in contents and not isinstance(contents[key], kind):
            what = "a mapping" if kind is dict else "an integer"
            found = type(contents[key]).__name__
            raise CheckpointError(f"{path}: {key} is a {found}, not {what}")
    for name, value in contents.get("state_dict", {}).items():
        if problem := _weight_problem(str(name), value):
            raise CheckpointError(f"{path}: state_dict[{name!r}] {problem}")
    return contents


def _weight_problem(name: str, value: Any) -> str | None:
    if name.endswith(EXTRA_STATE):
        return None if isinstance(value, dict) else f"is a {type(value).__name__}, not a mapping"
    if not isinstance(value, torch.Tensor):
        return f"is a {type(value).__name__}, not a tensor"
    if value.is_floating_point() and not torch.isfinite(value).all():
        return "holds NaN or infinite values (a diverged run?): pick an earlier checkpoint"
    return None
