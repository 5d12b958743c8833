"""Surviving a kill: atomic checkpoints, and a SIGKILLed run resumed to the uninterrupted result."""

import errno
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from torch import nn

from asrlab.data.batch import Batch
from asrlab.data.datamodule import ASRDataModule
from asrlab.data.datasets.manifest import Manifests
from asrlab.data.lhotse.datamodule import LhotseDataModule
from asrlab.data.lhotse.source import LhotseCuts
from asrlab.text.tokenizer import CharTokenizer
from asrlab.training.callbacks.loader_position import LoaderPosition
from asrlab.training.callbacks.rng_state import RngState
from asrlab.training.checkpoint_io import AtomicCheckpointIO, NoSpaceError
from helpers import (
    FRAMES_OF,
    TINY_HEADS,
    manifest_overrides,
    shar_of,
    write_cuts,
    write_dataset,
)
from sigkill import start_beside_uninterrupted
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


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 468"),
    ],
)
def test_full_disk_is_named_and_leaves_the_previous_checkpoint(
    failure: Exception, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": torch.tensor(1)}, path)

    def full_disk(obj: object, f: object) -> None:
        f.write(b"half a checkpoint")
        raise failure

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(NoSpaceError) as raised:
        io.save_checkpoint({"step": torch.tensor(2)}, path)
    monkeypatch.undo()
    message = str(raised.value).splitlines()[-1]
    assert message.startswith("no space left on /") and "(device " in message
    assert message.endswith(f" writing {path}")
    assert io.load_checkpoint(path, weights_only=True)["step"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


class _Recorder(pl.LightningModule):
    """Fits one weight to the batches' mean sample with a one-cycle schedule (whose total steps,
    as in ASRModel, set up the training data early); records each training batch's ids and a
    number drawn from torch's global generator, as augmentation would."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        self.seen: list[tuple[list[str], float]] = []

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        self.seen.append((batch.ids, torch.rand(()).item()))
        return (self.weight - 100 * batch.waves.mean()) ** 2

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        steps = int(self.trainer.estimated_stepping_batches)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=steps)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


class _Killed(Exception):
    pass


class _KillAt(pl.Callback):
    """Ends `fit` with an exception before training step `step + 1`."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: pl.Trainer, *args: object) -> None:
        if trainer.global_step == self.step:
            raise _Killed


def _fit(
    manifest: Path,
    folder: Path,
    num_workers: int,
    kill_at: int | None = None,
    ckpt: Path | None = None,
) -> tuple[_Recorder, pl.Trainer]:
    """2 epochs of 4 batches of 3 utterances, `last.ckpt` (with the random states) every 3
    steps; a Lhotse cuts manifest (`.jsonl.gz`) or Shar folder through data=lhotse's data
    module."""
    torch.manual_seed(0)
    paths = [str(manifest)] * 3
    common = {"batch_size": 3, "num_workers": num_workers, "seed": 7}
    data = (
        LhotseDataModule(
            LhotseCuts(*paths, str(folder / "views")), CharTokenizer(), FRAMES_OF, **common
        )
        if manifest.name.endswith(".jsonl.gz") or manifest.is_dir()
        else ASRDataModule(Manifests(*paths), CharTokenizer(), FRAMES_OF, **common)
    )
    model = _Recorder()
    every_3 = ModelCheckpoint(folder, every_n_train_steps=3, save_top_k=0, save_last=True)
    callbacks = [every_3, LoaderPosition(), RngState()]
    callbacks += [_KillAt(kill_at)] if kill_at is not None else []
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=2,
        callbacks=callbacks,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=folder,
    )
    trainer.fit(model, datamodule=data, ckpt_path=ckpt)
    return model, trainer


@pytest.mark.parametrize("num_workers", [0, 2])
def test_checkpoint_holds_the_loader_position_and_resume_trains_the_rest(
    num_workers: int, tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    manifest = write_dataset(tmp_path / "data", ["utterance"] * 12)
    full, _ = _fit(manifest, tmp_path / "full", num_workers)
    assert len(full.seen) == 8 and full.seen[:4] != full.seen[4:]

    # Killed after step 7: last.ckpt is step 6's, epoch 1 after 2 of its 4 batches (the workers
    # had already drawn the rest of the epoch from the sampler). Resumed, the run trains on the
    # same batches and draws the same random numbers as the uninterrupted one.
    killed = tmp_path / "killed"
    with pytest.raises(_Killed):
        _fit(manifest, killed, num_workers, kill_at=7)
    checkpoint = torch.load(killed / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 6
    position = checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert position == [{"epoch": 1, "batches_yielded": 2}]

    resumed, trainer = _fit(manifest, killed, num_workers, ckpt=killed / "last.ckpt")
    assert resumed.seen == full.seen[6:]
    assert trainer.global_step == 8 and trainer.current_epoch == 2
    assert torch.equal(resumed.weight, full.weight)
    assert not [w for w in recwarn if "not resumable" in str(w.message)]


@pytest.mark.parametrize("shar", [False, True])
def test_lhotse_run_resumed_mid_epoch_ends_with_the_uninterrupted_weights(
    shar: bool, tmp_path: Path
) -> None:
    cuts = write_cuts(tmp_path / "data", ["utterance"] * 12)
    cuts = shar_of(cuts, 2) if shar else cuts  # 6 shards: each of the 2 workers samples 3
    full, _ = _fit(cuts, tmp_path / "full", 2)
    assert len(full.seen) >= 11  # Lhotse's buckets: more batches than 4 per epoch
    killed = tmp_path / "killed"
    with pytest.raises(_Killed):
        _fit(cuts, killed, 2, kill_at=11)  # last.ckpt: step 9, in epoch 1
    resumed, trainer = _fit(cuts, killed, 2, ckpt=killed / "last.ckpt")
    assert resumed.seen == full.seen[9:]
    assert trainer.global_step == len(full.seen) and torch.equal(resumed.weight, full.weight)


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
    killed, full = tmp_path / "killed", tmp_path / "full"
    runs = start_beside_uninterrupted(tmp_path, overrides, [], (killed, full), output=False)
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


@pytest.mark.slow
@pytest.mark.parametrize("head", ["ctc", *TINY_HEADS])
def test_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(
    head: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    # last.ckpt every 2 steps: steps 2 and 6 fall mid-epoch, and the last, step 8, leaves each
    # run's final weights in it. The killed run trains step 7, then SIGKILLs itself; its
    # last.ckpt is step 6's, 2 batches into the second epoch. Two loader workers draw batches
    # ahead of training.
    overrides = [
        *manifest_overrides(tiny_synth),
        *TINY_RUN,
        *TINY_HEADS.get(head, []),
        "data.num_workers=2",
    ]
    overrides += ["callbacks.step_checkpoint.every_n_train_steps=2"]
    kill = ["+callbacks.sigkill._target_=sigkill.SignalAtStep", "+callbacks.sigkill.step=7"]
    killed, full = tmp_path / "killed", tmp_path / "full"
    runs = start_beside_uninterrupted(tmp_path, overrides, kill, (killed, full), output=False)
    assert runs[0].wait() == -signal.SIGKILL
    assert runs[1].wait() == 0
    assert not (killed / "metrics.json").exists()
    checkpoint = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 6
    position = checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert position == [{"epoch": 1, "batches_yielded": 6 - STEPS_PER_EPOCH}]

    cli("asrlab-resume", str(killed), "~callbacks.sigkill", cwd=tmp_path)
    assert final_metrics(killed) == final_metrics(full)
    assert final_metrics(full)["global_step"] == 2 * STEPS_PER_EPOCH
    assert_same_weights(final_weights(killed), final_weights(full))
