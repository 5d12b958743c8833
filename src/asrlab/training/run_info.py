"""What a run folder records so the run can be traced and reproduced: versions, commit, seed."""

import json
import logging
import platform
import subprocess
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only

import asrlab
from asrlab.storage import write_atomically

log = logging.getLogger(__name__)

RUN_INFO = "run_info.json"
# Recorded for the record, not compared: they come from the config, which a reproduction reuses.
_FROM_CONFIG = ("seed", "deterministic")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=Path(asrlab.__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def run_info(
    seed: int | None, deterministic: bool | None = None, threads_origin: str | None = None
) -> dict[str, Any]:
    """What bit-for-bit equality of a rerun depends on: package and library versions, git commit
    and dirty flag (None outside a checkout), Python, platform, torch threads (and where their
    number came from: `asrlab.training.threads.set_threads`), seed and the trainer's deterministic
    flag."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "asrlab_version": asrlab.__version__,
        "git_commit": commit,
        "git_dirty": bool(status) if status is not None else None,
        "seed": seed,
        "deterministic": deterministic,
        "torch_version": torch.__version__,
        "lightning_version": pl.__version__,
        "hydra_version": hydra.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "torch_threads_origin": threads_origin,
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cuda_version": torch.version.cuda,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


@rank_zero_only
def write_run_info(run_dir: Path, info: dict[str, Any]) -> None:
    """Writes `run_info.json` (at a run's start, so that a crashed run has it too)."""
    text = json.dumps(info, indent=2) + "\n"
    write_atomically(run_dir / RUN_INFO, lambda temporary: temporary.write_text(text))


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """The recorded info: `run_info.json`, or `metrics.json` of runs older than it."""
    for name in (RUN_INFO, "metrics.json"):
        if (run_dir / name).is_file():
            return json.loads((run_dir / name).read_text())
    raise FileNotFoundError(f"{run_dir} holds neither {RUN_INFO} nor metrics.json")


def environment_differences(
    recorded: dict[str, Any], current: dict[str, Any]
) -> list[tuple[str, Any, Any]]:
    """(key, recorded, current) for each environment entry that differs; keys the record lacks
    are skipped."""
    return [
        (key, recorded[key], value)
        for key, value in current.items()
        if key in recorded and key not in _FROM_CONFIG and recorded[key] != value
    ]


def warn_on_differences(recorded: dict[str, Any], current: dict[str, Any]) -> None:
    """Logs warnings listing what may break bit-for-bit equality with the recorded run."""
    differences = environment_differences(recorded, current)
    if differences:
        listing = "\n".join(f"  {k}: recorded {r!r}, now {c!r}" for k, r, c in differences)
        log.warning("the environment differs from the recorded run's:\n%s", listing)
    if recorded.get("git_dirty"):
        log.warning("the run had uncommitted changes: its code may differ from its commit")
    if recorded.get("deterministic") is False:
        log.warning("the run was not deterministic (trainer.deterministic=false)")
