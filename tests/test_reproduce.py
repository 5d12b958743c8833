"""asrlab-reproduce: a deterministic CPU run, rerun from its folder alone, matches bit for bit."""

import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from asrlab.cli import reproduce
from asrlab.cli.reproduce import check_environment, check_init_from
from asrlab.training.init_from import InitFromChangedError
from asrlab.training.run_info import RUN_INFO, run_info, warn_on_differences
from asrlab.training.threads import set_threads
from helpers import manifest_overrides

TINY_RUN = ["encoder.hidden_size=64", "encoder.num_layers=2", "encoder.dropout=0.0"]
TINY_RUN += ["trainer.max_epochs=2", "trainer.deterministic=true", "data.batch_size=6"]


def cli(script: str, *args: str, cwd: Path) -> None:
    """Runs one of asrlab's console scripts, failing with its output's tail."""
    env = {**os.environ, "ASRLAB_DATA_DIR": str(cwd / "data")}
    path = Path(sys.executable).parent / script
    result = subprocess.run([str(path), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def final_metrics(run: Path) -> dict[str, float]:
    metrics = json.loads((run / "metrics.json").read_text())
    return {k: metrics[k] for k in ("test_wer", "test_loss", "best_val_wer", "global_step")}


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.slow
def test_reproduction_matches_bit_for_bit(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    cli(
        "asrlab-train",
        *manifest_overrides(tiny_synth),
        *TINY_RUN,
        f"hydra.run.dir={run}",
        cwd=tmp_path,
    )
    recorded = json.loads((run / RUN_INFO).read_text())
    assert recorded["deterministic"] is True and recorded["seed"] == 1234
    for key in ("torch_version", "lightning_version", "python_version", "git_commit"):
        assert key in recorded

    again = tmp_path / "again"
    cli("asrlab-reproduce", str(run), "--out", str(again), cwd=tmp_path)
    assert final_metrics(again) == final_metrics(run)
    assert_same_weights(final_weights(again), final_weights(run))
    assert not (run / "reproduce").exists()


def test_environment_differences_are_warned(caplog: pytest.LogCaptureFixture) -> None:
    current = run_info(seed=1, deterministic=True)
    recorded = {**current, "torch_version": "1.0.0", "seed": 7, "git_dirty": False}
    with caplog.at_level(logging.WARNING):
        warn_on_differences(recorded, {**current, "git_dirty": False})
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "torch_version: recorded '1.0.0', now " in message and "seed" not in message

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        warn_on_differences({**current, "git_dirty": False}, {**current, "git_dirty": False})
    assert not caplog.records


def test_options_may_follow_the_run_among_the_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(reproduce, "_train", lambda *args: calls.append(args))
    reproduce.main(["RUN", "--out", "DIR", "trainer.max_epochs=10", "seed=2"])
    reproduce.main(["RUN", "seed=2", "--out", "DIR"])
    assert calls == [
        (Path("RUN"), Path("DIR"), ["trainer.max_epochs=10", "seed=2"]),
        (Path("RUN"), Path("DIR"), ["seed=2"]),
    ]


def test_threads_are_compared_as_the_rerun_sets_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = torch.get_num_threads()
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("threads: 1\n")
    recorded = {**run_info(1234, True, set_threads(1)), "git_dirty": False}
    (tmp_path / RUN_INFO).write_text(json.dumps(recorded))
    torch.set_num_threads(3)  # torch's default on another machine: not what the rerun uses
    with caplog.at_level(logging.WARNING):
        check_environment(tmp_path)
    torch.set_num_threads(before)
    assert "threads" not in caplog.text  # (a dirty checkout is listed too)


def test_refuses_an_init_from_checkpoint_other_than_the_recorded(tmp_path: Path) -> None:
    """The digest run_info.json recorded is checked on the file the rerun would load: changed or
    missing is refused naming the file and both digests; a copy of the same bytes elsewhere,
    given by an override, is the same checkpoint; a rerun from `ckpt_path` loads none."""
    checkpoint, copy = tmp_path / "pre.ckpt", tmp_path / "moved" / "pre.ckpt"
    checkpoint.write_bytes(b"weights")
    copy.parent.mkdir()
    copy.write_bytes(b"weights")
    recorded = {"path": str(checkpoint), "sha256": hashlib.sha256(b"weights").hexdigest()}
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(f"init_from: {checkpoint}\nckpt_path: null\n")
    (run / RUN_INFO).write_text(json.dumps({**run_info(1), "init_from": recorded}))
    check_init_from(run, [])
    check_init_from(run, [f"init_from={copy}"])

    checkpoint.write_bytes(b"other weights")
    with pytest.raises(InitFromChangedError) as error:
        check_init_from(run, [])
    changed = hashlib.sha256(b"other weights").hexdigest()
    assert f"init_from={checkpoint}: SHA-256 {changed}" in str(error.value)
    assert f"started from {checkpoint} of SHA-256 {recorded['sha256']}" in str(error.value)
    check_init_from(run, ["ckpt_path=last"])
    check_init_from(run, ["init_from=null"])

    checkpoint.unlink()
    with pytest.raises(SystemExit) as exit_info:
        reproduce.main([str(run), "--out", str(tmp_path / "again")])
    assert str(exit_info.value).startswith(
        f"asrlab-reproduce: init_from={checkpoint}: SHA-256 none"
    )
    assert "\n" not in str(exit_info.value) and not (tmp_path / "again").exists()
