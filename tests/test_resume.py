"""Surviving a kill: atomic checkpoints, and a SIGKILLed run resumed to the uninterrupted result."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from asrlab.checkpoint_io import AtomicCheckpointIO
from helpers import manifest_overrides
from test_reproduce import TINY_RUN, assert_same_weights, cli, final_metrics, final_weights

# data.batch_size=6 makes 4 steps per epoch of the 24 training utterances: every step checkpoint
# then falls on an epoch's last batch.
STEPS_PER_EPOCH = 4


def test_failed_save_leaves_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": torch.tensor(1)}, path)

    def partial_save(obj: object, f: object) -> None:
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", partial_save)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"step": torch.tensor(2)}, path)
    monkeypatch.undo()
    assert io.load_checkpoint(path, weights_only=True)["step"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def _wait_for_validated_last(checkpoints: Path, process: subprocess.Popen) -> None:
    """Until `last.ckpt` is the one written after the first validation (the step checkpoint
    before it, at the epoch's last batch, would resume without that validation, so with
    possibly another best checkpoint)."""
    best = checkpoints / f"epoch000-step{STEPS_PER_EPOCH}.ckpt"
    last = checkpoints / "last.ckpt"
    deadline = time.monotonic() + 300
    while not (best.exists() and last.stat().st_mtime_ns >= best.stat().st_mtime_ns):
        assert process.poll() is None, "the run ended before writing a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint after the first validation"
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_result(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = [*manifest_overrides(tiny_synth), *TINY_RUN]
    overrides += [f"callbacks.step_checkpoint.every_n_train_steps={STEPS_PER_EPOCH}"]
    script = str(Path(sys.executable).parent / "asrlab-train")
    env = {**os.environ, "ASRLAB_DATA_DIR": str(tmp_path / "data")}
    killed, full = tmp_path / "killed", tmp_path / "full"
    runs = [
        subprocess.Popen(
            [script, *overrides, f"hydra.run.dir={run}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for run in (killed, full)
    ]
    _wait_for_validated_last(killed / "checkpoints", runs[0])
    runs[0].send_signal(signal.SIGKILL)
    runs[0].wait()
    assert runs[1].wait() == 0
    assert not (killed / "metrics.json").exists()
    step = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert step == STEPS_PER_EPOCH < final_metrics(full)["global_step"]

    cli("asrlab-resume", str(killed), cwd=tmp_path)
    assert final_metrics(killed) == final_metrics(full)
    assert_same_weights(final_weights(killed), final_weights(full))
