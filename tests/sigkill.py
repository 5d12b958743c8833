"""A callback for kill-and-resume tests: the training process signals itself at a set step.

A run in a subprocess gets it with `PYTHONPATH=tests` and the overrides
`+callbacks.sigkill._target_=sigkill.SignalAtStep +callbacks.sigkill.step=N` (and
`+callbacks.sigkill.signal=SIGINT` for another signal than SIGKILL).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl


class SignalAtStep(pl.Callback):
    """Sends the process `signal` (by default SIGKILL: no cleanup, as `kill -9`) as training step
    `step + 1` starts."""

    def __init__(self, step: int, signal: str = "SIGKILL") -> None:
        self.step = step
        self.signal = signal

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), getattr(signal, self.signal))


def start_beside_uninterrupted(
    cwd: Path, overrides: list[str], signalled: list[str], runs: tuple[Path, Path], output: bool
) -> list[subprocess.Popen]:
    """Starts `asrlab-train` twice at once, into `runs` (signalled, uninterrupted): the first with
    the `signalled` overrides (its SignalAtStep callback), both with `overrides`. With `output`,
    each keeps its combined output (text) for `communicate()`."""
    script = str(Path(sys.executable).parent / "asrlab-train")
    env = {**os.environ, "ASRLAB_DATA_DIR": str(cwd / "data")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    streams = (subprocess.PIPE, subprocess.STDOUT) if output else (subprocess.DEVNULL,) * 2
    return [
        subprocess.Popen(
            [script, *overrides, *extra, f"hydra.run.dir={run}"],
            cwd=cwd,
            env=env,
            stdout=streams[0],
            stderr=streams[1],
            text=output,
        )
        for run, extra in zip(runs, (signalled, []), strict=True)
    ]
