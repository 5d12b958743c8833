"""Test helpers: small audio and manifests written on the fly."""

import json
import math
from collections.abc import Sequence
from pathlib import Path

import torch
from omegaconf import DictConfig

from asrlab.config import compose_config
from asrlab.data.audio import write_audio

SAMPLE_RATE = 16000


def tone(seconds: float, freq: float = 440.0, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    return 0.3 * torch.sin(2 * math.pi * freq * t)


def write_recordings(
    folder: Path,
    speakers: Sequence[str] = ("anna", "ben", "carl"),
    digits: Sequence[int] = (0, 7),
    takes: Sequence[int] = range(11),
    sample_rate: int = 8000,
) -> None:
    """FSDD's layout, {digit}_{speaker}_{take}.wav: a tone per digit, longer with each take."""
    folder.mkdir(parents=True, exist_ok=True)
    for speaker in speakers:
        for digit in digits:
            for take in takes:
                wave = tone(0.05 + 0.01 * take, freq=300 + 50 * digit, sample_rate=sample_rate)
                write_audio(folder / f"{digit}_{speaker}_{take}.wav", wave, sample_rate)


def write_dataset(folder: Path, texts: list[str], name: str = "train.jsonl") -> Path:
    """Tones of increasing length with the given transcripts, and a manifest with relative paths."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, text in enumerate(texts):
        wave = tone(0.3 + 0.1 * i, freq=200 + 50 * i)
        write_audio(folder / f"utt{i}.wav", wave, SAMPLE_RATE)
        entry = {"audio_filepath": f"utt{i}.wav", "duration": len(wave) / SAMPLE_RATE, "text": text}
        lines.append(json.dumps(entry))
    manifest = folder / name
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def compose_train(overrides: list[str], run_dir: Path) -> DictConfig:
    """The real train config with overrides, its run folder and data cache under `run_dir`."""
    return compose_config(overrides, run_dir, root_dir=run_dir, data_dir=run_dir / "data")


def manifest_overrides(manifests: dict[str, Path]) -> list[str]:
    """Point data=manifest at the given split manifests."""
    return ["data=manifest"] + [f"data.source.{split}={path}" for split, path in manifests.items()]
