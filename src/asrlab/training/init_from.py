"""Fine-tuning: a new run's named submodules start from another run's checkpoint (`init_from`).

The checkpoint is read weights-only (`asrlab.trust.pickles`) and its config is only checked
(`asrlab.trust.configs`), never instantiated. Of `init.modules` (state_dict prefixes: `encoder`,
`frontend`, `head`, `encoder.layers.0`, ...) every tensor is copied; the rest of the model keeps
its fresh initialisation, so a head for another vocabulary starts fresh.
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from asrlab.storage import write_atomically
from asrlab.text.tokenizer import Tokenizer, tokenizer_from_state_dict
from asrlab.training.checkpoint_contents import checked_contents
from asrlab.training.legacy import renamed_targets
from asrlab.trust.configs import check_config
from asrlab.trust.pickles import safe_load

log = logging.getLogger(__name__)

# What was copied and what was not, beside run_info.json in the run folder.
REPORT = "init_from.json"
# Mismatches named in an error's one line; the report lists them all.
_SHOWN = 4


class InitMismatchError(ValueError):
    """A named module is absent from the model, or (`init.strict`) from the checkpoint, or its
    tensors differ."""


class InitFromChangedError(ValueError):
    """A rerun would start from another checkpoint than the one its run recorded (SHA-256)."""


def sha256_of(path: Path) -> str:
    """The file's SHA-256, hex."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_recorded(path: str | Path, recorded: dict[str, Any]) -> None:
    """Raises InitFromChangedError naming `path` and both digests unless the file at `path` is
    the one `recorded` (run_info.json's `init_from`: path and SHA-256) describes."""
    path = Path(path)
    digest = sha256_of(path) if path.is_file() else "none: no such file"
    if digest != recorded["sha256"]:
        raise InitFromChangedError(
            f"init_from={path}: SHA-256 {digest}, but the run started from {recorded['path']} "
            f"of SHA-256 {recorded['sha256']}: give init_from=THAT_FILE to reproduce the run"
        )


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__


def _in(key: str, modules: Sequence[str]) -> bool:
    return any(key == m or key.startswith(f"{m}.") for m in modules)


def _module_names(state: dict[str, Any]) -> str:
    return ", ".join(dict.fromkeys(key.split(".")[0] for key in state))


def _mismatches(
    source: dict[str, Any], target: dict[str, Any], modules: Sequence[str]
) -> dict[str, str]:
    """What the two state dicts do not hold alike under `modules`: key (or module) -> why."""
    absent = {
        m: f"absent from the checkpoint (it has: {_module_names(source)})"
        for m in modules
        if not any(_in(key, [m]) for key in source)
    }
    shapes = {
        key: f"checkpoint {_shape(source[key]) if key in source else 'none'}, "
        f"model {_shape(target[key]) if key in target else 'none'}"
        for key in sorted({k for k in [*source, *target] if _in(k, modules) and not _in(k, absent)})
        if key not in source or key not in target or _shape(source[key]) != _shape(target[key])
    }
    return absent | shapes


def _vocabulary_mismatch(tokenizer: Tokenizer, saved: dict[str, Any] | None) -> dict[str, str]:
    """A head's outputs are its tokenizer's ids: copying one needs the same vocabulary."""
    try:
        vocab = tokenizer_from_state_dict(saved).vocab if saved else None
    except (KeyError, TypeError, ValueError) as err:
        return {"tokenizer": f"checkpoint's is not one asrlab wrote ({err!r})"}
    if vocab == tokenizer.vocab:
        return {}
    got = f"{len(vocab)} tokens" if vocab is not None else "none"
    return {"tokenizer": f"checkpoint {got}, model {len(tokenizer.vocab)} tokens, not the same"}


def init_from_checkpoint(
    model: nn.Module,
    tokenizer: Tokenizer,
    path: str | Path,
    modules: Sequence[str],
    strict: bool,
    run_dir: Path,
) -> dict[str, Any]:
    """Copies the tensors of `modules` from the checkpoint at `path` into `model`, writes
    REPORT into `run_dir`, and returns what run_info.json records (path and SHA-256).

    With `strict`, a module absent from the checkpoint, a tensor of another shape, or a head of
    another vocabulary raises `InitMismatchError` naming them (checkpoint's and model's shapes),
    and nothing is copied; without, only what matches is copied and the rest is logged."""
    path = Path(path)
    target = model.state_dict()
    missing = [m for m in modules if not any(_in(key, [m]) for key in target)]
    if missing:
        raise InitMismatchError(
            f"init.modules: the model has no module {', '.join(missing)} "
            f"(it has: {_module_names(target)})"
        )
    if not path.is_file():
        raise FileNotFoundError(f"init_from={path}: no such file")
    checkpoint = checked_contents(f"init_from={path}", safe_load(path), ("state_dict",))
    if checkpoint.get("asrlab_config") is not None:
        config = renamed_targets(checkpoint["asrlab_config"])
        check_config(config, str(path), "asrlab_config")
    source = checkpoint["state_dict"]
    skipped = _mismatches(source, target, modules)
    if any(_in(m, ["head"]) for m in modules):
        skipped |= _vocabulary_mismatch(tokenizer, checkpoint.get("tokenizer"))
    copied = {
        key: value
        for key, value in source.items()
        if _in(key, modules)
        and key in target
        and key not in skipped
        and not ("tokenizer" in skipped and _in(key, ["head"]))
    }
    if skipped and strict:
        copied = {}
    record = {"path": str(path.resolve()), "sha256": sha256_of(path)}
    lines = [f"{key}: {why}" for key, why in skipped.items()]
    report = {**record, "modules": list(modules), "strict": strict, "copied": sorted(copied)}
    text = json.dumps({**report, "skipped": lines}, indent=2) + "\n"
    write_atomically(run_dir / REPORT, lambda temporary: temporary.write_text(text))
    if skipped and strict:
        shown = "; ".join(lines[:_SHOWN])
        more = f"; {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
        raise InitMismatchError(
            f"init_from={path}: {shown}{more} (all in {run_dir / REPORT}); init.strict=false "
            "copies only what matches"
        )
    model.load_state_dict(copied, strict=False)
    log.info("init_from: copied %d tensors of %s from %s", len(copied), ", ".join(modules), path)
    if skipped:
        log.warning(
            "init_from: skipped %d (init.strict=false): %s (listed in %s)",
            len(skipped),
            "; ".join(lines[:_SHOWN]),
            run_dir / REPORT,
        )
    return record
