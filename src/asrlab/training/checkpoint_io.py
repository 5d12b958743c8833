"""Checkpoints written atomically: a kill or a failure mid-save leaves the previous file intact;
and read weights-only, so that resuming from a file never runs code in it.

Lightning's `TorchCheckpointIO` serialises into memory, writes a temporary file in the system's
temp folder and moves it into place: a move across file systems is a copy into the destination
(a kill mid-copy truncates `last.ckpt`), and nothing is fsynced.

A kill mid-save leaves the temporary file (`.NAME.PID-XXXXXXXX.tmp`); the next run in the folder
removes it (`remove_leftovers`). A full disk ends the save in `NoSpaceError`.
"""

import errno
import logging
import os
import re
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from asrlab.storage import write_atomically
from asrlab.trust.pickles import refuse_unsafe

log = logging.getLogger(__name__)

# The temporary files `write_atomically` makes (`.NAME.PID-XXXXXXXX.tmp`), and those of earlier
# versions (mkstemp's `.NAME.XXXXXXXX.tmp`).
_LEFTOVER = re.compile(r"\..+\.ckpt\.(\d+-[0-9a-f]{8}|[a-z0-9_]{8})\.tmp")
# What torch's zip writer says when a write into the file fails (it does not keep the OSError).
_TORCH_WRITE_FAILED = ("unexpected pos", "PytorchStreamWriter failed writing")


class NoSpaceError(OSError):
    """A checkpoint did not fit on its file system; the previous one is left intact."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Saves into a temporary file beside the target, fsyncs it, then `os.replace`s the target."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return

        def save(temporary: Path) -> None:
            with temporary.open("wb") as f:
                torch.save(checkpoint, f)

        try:
            write_atomically(Path(path), save)
        except BaseException as error:
            if _out_of_space(error):
                message = f"no space left on {_device(Path(path).parent)} writing {path}"
                raise NoSpaceError(message) from error
            raise

    def load_checkpoint(
        self, path: str | Path, map_location: Any = "cpu", weights_only: bool | None = None
    ) -> dict[str, Any]:
        """Weights-only whatever `weights_only` says (resuming and testing load through here): a
        checkpoint that would run code raises `UnsafeCheckpointError`."""
        with refuse_unsafe(path):
            return super().load_checkpoint(path, map_location, weights_only=True)


def remove_leftovers(folder: Path) -> None:
    """Removes the temporary files that killed saves left in `folder`, logging how many."""
    leftovers = [p for p in folder.glob(".*.tmp") if _LEFTOVER.fullmatch(p.name)]
    if not leftovers:
        return
    size = sum(p.stat().st_size for p in leftovers)
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    log.info(
        "removed %d temporary file(s) (%.1f MB) of interrupted checkpoint saves from %s",
        len(leftovers),
        size / 1e6,
        folder,
    )


def _out_of_space(error: BaseException) -> bool:
    if isinstance(error, OSError):
        return error.errno == errno.ENOSPC
    return isinstance(error, RuntimeError) and any(s in str(error) for s in _TORCH_WRITE_FAILED)


def _device(folder: Path) -> str:
    """The mount point that holds `folder`, and its device number: '/data (device 8:1)'."""
    device = os.stat(folder).st_dev
    mount = folder.resolve()
    while mount.parent != mount and os.stat(mount.parent).st_dev == device:
        mount = mount.parent
    return f"{mount} (device {os.major(device)}:{os.minor(device)})"
