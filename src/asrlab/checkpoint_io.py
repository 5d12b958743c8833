"""Checkpoints written atomically: a kill or a failure mid-save leaves the previous file intact;
and read weights-only, so that resuming from a file never runs code in it.

Lightning's `TorchCheckpointIO` serialises into memory, writes a temporary file in the system's
temp folder and moves it into place: a move across file systems is a copy into the destination
(a kill mid-copy truncates `last.ckpt`), and nothing is fsynced.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from asrlab.safe_load import refuse_unsafe


class AtomicCheckpointIO(TorchCheckpointIO):
    """Saves into a temporary file beside the target, fsyncs it, then `os.replace`s the target."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def load_checkpoint(
        self, path: str | Path, map_location: Any = "cpu", weights_only: bool | None = None
    ) -> dict[str, Any]:
        """Weights-only whatever `weights_only` says (resuming and testing load through here): a
        checkpoint that would run code raises `UnsafeCheckpointError`."""
        with refuse_unsafe(path):
            return super().load_checkpoint(path, map_location, weights_only=True)


def _fsync_dir(folder: Path) -> None:
    """Makes a rename in `folder` durable (where the OS supports opening folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
