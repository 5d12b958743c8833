"""Unpickling torch files without running code: checkpoints, posteriors, feature-cache shards.

A pickle can name any importable function (`os.system`, `exec`) and have it called on loading.
Every `torch.load` in asrlab goes through `refuse_unsafe`: torch's weights-only unpickler, which
rebuilds only tensors, containers and plain values, plus `SAFE_GLOBALS`. A file naming anything
else is refused with `UnsafeCheckpointError` before any of it runs.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from pickle import UnpicklingError
from typing import Any

import torch

# The non-tensor types our files hold beyond what the weights-only unpickler already rebuilds
# (tensors, storages, OrderedDict, containers, numbers, strings). Lightning's checkpoints with
# asrlab's callbacks, tokenizers and heads need none: `tests/test_safe_loading.py` checks it.
SAFE_GLOBALS: list[Any] = []


class UnsafeCheckpointError(UnpicklingError):
    """A file that the weights-only unpickler refused: loading it could run code."""


def _named_globals(path: Path) -> list[str]:
    """The globals outside torch's weights-only allowlist that a torch zip file names."""
    try:
        return torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (OSError, ValueError, RuntimeError):  # not a local zip file: torch's reason suffices
        return []


@contextmanager
def refuse_unsafe(path: str | Path) -> Iterator[None]:
    """Around a `torch.load(path, weights_only=True)`: allows `SAFE_GLOBALS`, and turns a refusal
    into an `UnsafeCheckpointError` naming the file, what it would have run, and what to do."""
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            yield
    except UnpicklingError as error:
        names = _named_globals(Path(path))
        what = (
            f"it names {', '.join(names)}, which asrlab does not allow: unpickling would have "
            "called it, i.e. run code"
            if names
            else f"torch's weights-only unpickler refused it ({' '.join(str(error).split())})"
        )
        raise UnsafeCheckpointError(
            f"{path}: refused to load: {what}. Nothing in it was run. If you trust where the "
            "file comes from, load it yourself with torch.load(..., weights_only=False) and "
            "torch.save only its tensors and plain values; if a harmless data type is missing, "
            "add it to asrlab.trust.pickles.SAFE_GLOBALS."
        ) from None


def safe_load(path: str | Path, mmap: bool = False) -> Any:
    """A torch file's contents on the CPU, unpickled weights-only (see the module docstring)."""
    with refuse_unsafe(path):
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
