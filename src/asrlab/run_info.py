"""What a run folder records so the run can be traced and reproduced: version, commit, seed."""

import subprocess
from pathlib import Path
from typing import Any

import torch

import asrlab


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


def run_info(seed: int) -> dict[str, Any]:
    """Package version, git commit and dirty flag (None outside a checkout), seed, torch threads."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "asrlab_version": asrlab.__version__,
        "git_commit": commit,
        "git_dirty": bool(status) if status is not None else None,
        "seed": seed,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
