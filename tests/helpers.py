"""Test helpers: small audio and manifests written on the fly."""

import json
import math
from pathlib import Path

from omegaconf import DictConfig

import torch

from asrlab.data.audio import write_audio

SAMPLE_RATE = 16000


def tone(seconds: float, freq: float = 440.0, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    return 0.3 * torch.sin(2 * math.pi * freq * t)


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
    from hydra import compose, initialize_config_module
    from omegaconf import open_dict

    with initialize_config_module("asrlab.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.root_dir = str(run_dir)
        cfg.paths.output_dir = str(run_dir)
        cfg.paths.data_dir = str(run_dir / "data")
    return cfg


def manifest_overrides(manifests: dict[str, Path]) -> list[str]:
    """Point data=manifest at the given split manifests."""
    return ["data=manifest"] + [f"data.source.{split}={path}" for split, path in manifests.items()]
