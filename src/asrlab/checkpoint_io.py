"""Checkpoints written atomically: a kill or a failure mid-save leaves the previous file intact;
and read weights-only, so that resuming from a file never runs code in it.

Lightning's `TorchCheckpointIO` serialises into memory, writes a temporary file in the system's
temp folder and moves it into place: a move across file systems is a copy into the destination
(a kill mid-copy truncates `last.ckpt`), and nothing is fsynced.
"""

from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from asrlab.safe_load import refuse_unsafe
from asrlab.storage import write_atomically


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

        write_atomically(Path(path), save)

    def load_checkpoint(
        self, path: str | Path, map_location: Any = "cpu", weights_only: bool | None = None
    ) -> dict[str, Any]:
        """Weights-only whatever `weights_only` says (resuming and testing load through here): a
        checkpoint that would run code raises `UnsafeCheckpointError`."""
        with refuse_unsafe(path):
            return super().load_checkpoint(path, map_location, weights_only=True)
