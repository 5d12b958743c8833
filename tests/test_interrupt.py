"""Ctrl-C saves the run: an asrlab-train interrupted mid-epoch exits 130 with last.ckpt at that
step, and asrlab-resume ends it as an uninterrupted run ends."""

from pathlib import Path

import pytest
import torch

from helpers import manifest_overrides
from sigkill import start_beside_uninterrupted
from test_reproduce import TINY_RUN, assert_same_weights, cli, final_metrics, final_weights


@pytest.mark.slow
def test_interrupted_run_saves_and_resumes_to_the_uninterrupted_result(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    # data.batch_size=6: 4 steps per epoch. No step checkpoints: the interrupted run's SIGINT
    # arrives as step 7 starts, 3 batches into the second epoch; its last.ckpt is step 7's.
    overrides = [*manifest_overrides(tiny_synth), *TINY_RUN]
    overrides += ["callbacks.step_checkpoint.every_n_train_steps=100"]
    interrupt = ["+callbacks.sigint._target_=sigkill.SignalAtStep", "+callbacks.sigint.step=6"]
    interrupt += ["+callbacks.sigint.signal=SIGINT"]
    interrupted, full = tmp_path / "interrupted", tmp_path / "full"
    runs = start_beside_uninterrupted(
        tmp_path, overrides, interrupt, (interrupted, full), output=True
    )
    output = runs[0].communicate()[0]
    assert runs[0].returncode == 130, output[-3000:]
    assert runs[1].wait() == 0
    assert not (interrupted / "metrics.json").exists()
    last = interrupted / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == 7
    assert f"interrupted: saved {last} at step 7; asrlab-resume {interrupted} continues" in output

    cli("asrlab-resume", str(interrupted), "~callbacks.sigint", cwd=tmp_path)
    assert final_metrics(interrupted) == final_metrics(full)
    assert_same_weights(final_weights(interrupted), final_weights(full))
