"""Checkpoints and posteriors are unpickled weights-only: our own files load, and a crafted one
that would run code is refused, naming the file and the call, before the code runs."""

import builtins
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from asrlab.tools.decoding.posteriors import Posteriors
from asrlab.tools.evaluation.inputs import EvaluationError, load_checkpoint
from asrlab.tools.inference.run import prepare
from asrlab.training.checkpoint import load_model, read_checkpoint
from asrlab.training.checkpoint_io import AtomicCheckpointIO
from asrlab.training.compose import compose_config
from asrlab.training.run import train
from asrlab.trust.pickles import SAFE_GLOBALS, UnsafeCheckpointError
from helpers import compose_train, manifest_overrides


class Shell:
    """Unpickles into `os.system("touch MARKER")`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (f"touch '{self.marker}'",)


class Python:
    """Unpickles into `exec(...)` of code that creates MARKER."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",)


PAYLOADS = {"posix.system": Shell, "builtins.exec": Python}


def crafted(contents: dict[str, Any], payload: str, folder: Path) -> tuple[Path, Path]:
    """`contents` with the payload hidden in it, saved as FOLDER/checkpoints/last.ckpt; and the
    marker file the payload would create."""
    marker = folder / "MARKER"
    path = folder / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    torch.save({**contents, "callbacks": {"Innocent": PAYLOADS[payload](marker)}}, path)
    return path, marker


def test_our_checkpoints_need_no_global_beyond_the_allowlist(tiny_run: Path) -> None:
    allowed = {f"{g.__module__}.{g.__qualname__}" for g in SAFE_GLOBALS}
    checkpoints = sorted((tiny_run / "checkpoints").glob("*.ckpt"))
    assert len(checkpoints) >= 2  # the best one and last.ckpt
    for path in checkpoints:
        assert set(torch.serialization.get_unsafe_globals_in_checkpoint(path)) <= allowed
        resumable = AtomicCheckpointIO().load_checkpoint(path)
        assert resumable["optimizer_states"] and resumable["callbacks"]
        assert read_checkpoint(path)["global_step"] == resumable["global_step"] > 0


@pytest.mark.parametrize("payload", PAYLOADS)
def test_load_model_refuses_a_checkpoint_that_would_run_code(
    payload: str, tiny_run: Path, tmp_path: Path
) -> None:
    real = read_checkpoint(tiny_run / "checkpoints" / "last.ckpt")
    path, marker = crafted(real, payload, tmp_path)
    with pytest.raises(UnsafeCheckpointError, match=payload) as refused:
        load_model(path)
    assert str(path) in str(refused.value) and "weights_only=False" in str(refused.value)
    assert not marker.exists()

    torch.load(path, weights_only=False)  # what an unguarded load does: runs the payload
    assert marker.exists()


def test_eval_and_transcribe_name_the_refused_checkpoint_once(
    tiny_run: Path, tmp_path: Path
) -> None:
    real = read_checkpoint(tiny_run / "checkpoints" / "last.ckpt")
    path, marker = crafted(real, "posix.system", tmp_path)
    with pytest.raises(EvaluationError) as by_eval:
        load_checkpoint(path)
    (tmp_path / "a.wav").touch()
    overrides = [f"ckpt_path={path}", f"inputs=[{tmp_path / 'a.wav'}]"]
    cfg = compose_config(overrides, tmp_path, config_name="transcribe")
    with pytest.raises(ValueError) as by_transcribe:
        prepare(cfg)
    for refused in (by_eval, by_transcribe):
        message = str(refused.value)
        assert message.startswith(f"ckpt_path={path}: refused to load: it names posix.system")
        assert message.count(str(path)) == 1 and "\n" not in message
    assert not marker.exists()


def test_resume_refuses_a_checkpoint_that_would_run_code(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    real = read_checkpoint(tiny_run / "checkpoints" / "last.ckpt")
    path, marker = crafted(real, "posix.system", tmp_path / "crafted")
    overrides = [*manifest_overrides(tiny_synth), "encoder.hidden_size=32", "encoder.num_layers=1"]
    cfg = compose_train([*overrides, f"ckpt_path={path}"], tmp_path / "run")
    with pytest.raises(UnsafeCheckpointError, match="posix.system") as refused:
        train(cfg)
    assert not marker.exists()
    assert any(Path(entry.path).name == "checkpoint_io.py" for entry in refused.traceback)


def test_posteriors_load_refuses_a_file_that_would_run_code(tmp_path: Path) -> None:
    posteriors = {
        "scores": [torch.zeros(3, 4)],
        "lengths": [3],
        "texts": ["a"],
        "ids": ["u"],
        "seconds": [1.0],
    }
    Posteriors(**posteriors).save(tmp_path / "test.pt")
    assert Posteriors.load(tmp_path / "test.pt").texts == ["a"]
    path, marker = crafted(posteriors, "builtins.exec", tmp_path)
    with pytest.raises(UnsafeCheckpointError, match="builtins.exec"):
        Posteriors.load(path)
    assert not marker.exists()
