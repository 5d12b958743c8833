"""What a dataset recipe is, to the data module; and a run's training transcripts."""

from pathlib import Path
from typing import Protocol

from omegaconf import DictConfig

from asrlab.data.folds import build_source
from asrlab.data.manifest import read_manifest


class Source(Protocol):
    """A dataset recipe: makes (or finds) one JSONL manifest per split: train, val, test."""

    def prepare(self) -> dict[str, Path]: ...


def training_manifest(cfg: DictConfig) -> Path:
    """The training split's manifest of a run config's `data.source`."""
    return build_source(cfg.data.source).prepare()["train"]


def training_texts(cfg: DictConfig) -> list[str]:
    """The transcripts of the training split, as the data source lists them (unnormalised)."""
    return [utterance.text for utterance in read_manifest(training_manifest(cfg))]
