"""Beyond one machine: DDP over two CPU processes, and sweeps through the submitit launcher."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torchmetrics.text import CharErrorRate, WordErrorRate

from asrlab.data.audio import read_audio
from asrlab.data.manifest import read_manifest
from asrlab.training.checkpoint import load_model
from helpers import TINY_HEADS, manifest_overrides

TINY_MODEL = ["encoder.hidden_size=64", "encoder.num_layers=2", "encoder.dropout=0.0"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed `asrlab-train`, one torch thread per process (the test machine has two)."""
    script = Path(sys.executable).parent / "asrlab-train"
    env = {**os.environ, "ASRLAB_DATA_DIR": str(cwd / "data"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True)


def _recomputed_wer_cer(run_dir: Path, best: str, manifest: Path) -> tuple[float, float]:
    """WER and CER of the run's best checkpoint over the whole manifest, in this one process."""
    model, cfg = load_model(run_dir / best)
    wer, cer = WordErrorRate(), CharErrorRate()
    for utterance in read_manifest(manifest):
        wave = read_audio(utterance.audio_filepath, cfg.data.sample_rate)
        hyps = model.transcribe(wave[None], wave.new_tensor([len(wave)]).long())
        wer.update(hyps, [utterance.text])
        cer.update(hyps, [utterance.text])
    return float(wer.compute()), float(cer.compute())


def _few(tiny_synth: dict[str, Path]) -> Path:
    """A manifest of the first 8 training utterances."""
    lines = tiny_synth["train"].read_text().splitlines(keepends=True)
    few = tiny_synth["train"].parent / "ddp_few.jsonl"
    few.write_text("".join(lines[:8]))
    return few


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_splits_batches_and_syncs_metrics(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    few = _few(tiny_synth)
    overrides = manifest_overrides({"train": few, "val": few, "test": few}) + TINY_MODEL
    overrides += ["augment=none", "scheduler=none", "optimizer.lr=0.01", "optimizer.weight_decay=0"]
    # Two test batches: one per rank, so rank 0 alone sees only half of the test set.
    overrides += ["data.batch_size=2", "data.eval_batch_size=4"]
    overrides += ["trainer.max_epochs=30", "trainer.check_val_every_n_epoch=10"]

    single = _cli(f"hydra.run.dir={tmp_path / 'one'}", *overrides, cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = _cli(
        "trainer=ddp",
        "trainer.devices=2",
        f"hydra.run.dir={tmp_path / 'two'}",
        *overrides,
        cwd=tmp_path,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]

    assert {p.name for p in tmp_path.iterdir()} <= {"one", "two", "data"}  # no stray run folders
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["global_step"] == one["global_step"] // 2  # each rank takes every other batch
    assert (tmp_path / "two" / "train.log").read_text().count("test WER") == 1  # rank 0 only

    # Rank 0 reports the metrics of both ranks' test batches: those of the whole test set.
    wer, cer = _recomputed_wer_cer(tmp_path / "two", two["best_checkpoint"], few)
    assert two["test_wer"] == pytest.approx(wer, abs=1e-6)
    assert two["test_cer"] == pytest.approx(cer, abs=1e-6)
    # Untrained, WER is about 1: both learn, and about equally well.
    assert one["test_wer"] <= 0.6 and two["test_wer"] <= 0.6
    assert abs(one["test_wer"] - two["test_wer"]) <= 0.35


@pytest.mark.slow
@pytest.mark.parametrize("head", list(TINY_HEADS))
def test_ddp_fits_and_tests_every_head(
    head: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    few = _few(tiny_synth)
    overrides = manifest_overrides({"train": few, "val": few, "test": few}) + TINY_MODEL
    overrides += [*TINY_HEADS[head], "data.batch_size=2", "data.eval_batch_size=4"]
    overrides += ["trainer.max_epochs=2", "callbacks.step_checkpoint.every_n_train_steps=1"]
    run = tmp_path / "two"
    ddp = _cli("trainer=ddp", "trainer.devices=2", f"hydra.run.dir={run}", *overrides, cwd=tmp_path)
    assert ddp.returncode == 0, ddp.stderr[-3000:]

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["global_step"] == 4  # 2 epochs of 4 batches, every other one per rank
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 4  # a step checkpoint at every step
    assert (run / "train.log").read_text().count("test WER") == 1  # rank 0 only
    # Both ranks' test hypotheses reach the metrics: those of the whole test set.
    wer, cer = _recomputed_wer_cer(run, metrics["best_checkpoint"], few)
    assert metrics["test_wer"] == pytest.approx(wer, abs=1e-6)
    assert metrics["test_cer"] == pytest.approx(cer, abs=1e-6)
    low, high = metrics["test_wer_ci95"]
    assert low <= metrics["test_wer"] <= high and math.isfinite(metrics["test_loss"])


@pytest.mark.slow
def test_submitit_local_launcher_runs_each_trial_in_its_own_folder(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    result = _cli(
        "-m",
        "hydra/launcher=submitit_local",
        "seed=1,2",
        "debug=fast",
        f"hydra.sweep.dir={sweep}",
        *manifest_overrides(tiny_synth),
        *TINY_MODEL,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [t.name.split("_", 1)[0] for t in trials] == ["0", "1"]
    for trial, seed in zip(trials, (1, 2), strict=True):
        assert json.loads((trial / "metrics.json").read_text())["seed"] == seed
