"""One run at a time in a run folder; leftovers of killed checkpoint saves removed at the next
start."""

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from asrlab.training.checkpoint_io import remove_leftovers
from asrlab.training.run_lock import LOCK, RunFolderInUseError, RunLock, hold_run_folder


def test_second_holder_refuses_naming_the_first(tmp_path: Path) -> None:
    with hold_run_folder(tmp_path):
        with pytest.raises(RunFolderInUseError) as refused:
            with hold_run_folder(tmp_path):
                pass
    message = str(refused.value)
    assert f"in use by the run of pid {os.getpid()} on {socket.gethostname()} since " in message
    assert "\n" not in message and "hydra.run.dir" in message
    with hold_run_folder(tmp_path):  # released
        pass


def test_the_callback_refuses_with_one_line_hydra_does_not_turn_into_a_warning(
    tmp_path: Path,
) -> None:
    config = OmegaConf.create({"hydra": {"run": {"dir": str(tmp_path)}}})
    with hold_run_folder(tmp_path):
        with pytest.raises(SystemExit) as refused:
            RunLock().on_run_start(config)
    assert str(refused.value).startswith(f"asrlab-train: {tmp_path} is in use by the run of pid ")


def test_lock_of_a_killed_run_is_taken_over_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    killed = {"pid": 999999, "host": socket.gethostname(), "since": "2024-01-01T00:00:00"}
    (tmp_path / LOCK).write_text(json.dumps(killed))
    with caplog.at_level(logging.WARNING), hold_run_folder(tmp_path):
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    assert "from pid 999999 on " in caplog.text and "ended without releasing it" in caplog.text
    assert (tmp_path / LOCK).read_text() == ""


def test_leftovers_of_killed_saves_are_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    leftovers = (
        ".last.ckpt.k2x_9abc.tmp",
        ".epoch001-step8.ckpt.a1b2c3d4.tmp",
        ".last.ckpt.42-0a1b2c3d.tmp",
    )
    for name in leftovers:
        (tmp_path / name).write_bytes(b"x" * 1000)
    kept = ["last.ckpt", ".notes.tmp", ".last.ckpt.tmp"]
    for name in kept:
        (tmp_path / name).write_bytes(b"y")
    with caplog.at_level(logging.INFO):
        remove_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    assert "removed 3 temporary file(s) (0.0 MB)" in caplog.text


def _cli(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASRLAB_DATA_DIR": str(cwd / "data"), "HYDRA_FULL_ERROR": "0"}
    path = Path(sys.executable).parent / script
    return subprocess.run([str(path), *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_train_and_resume_into_a_running_run_refuse_before_writing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("seed: 1\nckpt_path: null\n")
    (run / "run_info.json").write_text('{"seed": 1}')
    with hold_run_folder(run):
        train = _cli("asrlab-train", f"hydra.run.dir={run}", cwd=tmp_path)
        resume = _cli("asrlab-resume", str(run), cwd=tmp_path)
    for refused in (train, resume):
        assert refused.returncode != 0
        assert (
            f"asrlab-train: {run} is in use by the run of pid {os.getpid()} on " in refused.stderr
        )
        assert "Traceback" not in refused.stderr
    assert (run / ".hydra" / "config.yaml").read_text() == "seed: 1\nckpt_path: null\n"
