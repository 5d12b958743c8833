"""What a dataset recipe is, to the data module."""

from pathlib import Path
from typing import Protocol


class Source(Protocol):
    """A dataset recipe: makes (or finds) one JSONL manifest per split: train, val, test."""

    def prepare(self) -> dict[str, Path]: ...
