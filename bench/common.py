"""What the benchmarks share: composing the real config and writing a JSON result."""

import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from asrlab.training.compose import compose_config

RESULTS = Path(__file__).parent / "results"
REPO = Path(__file__).resolve().parent.parent


def compose_train(overrides: list[str], run_dir: Path) -> DictConfig:
    """The training config with overrides; its run folder under `run_dir`."""
    return compose_config(overrides, run_dir, root_dir=REPO)


def write_result(name: str, result: dict[str, Any]) -> Path:
    """bench/results/NAME.json, also printed."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {path}", file=sys.stderr)
    return path
