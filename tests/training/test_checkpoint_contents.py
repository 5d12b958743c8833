"""A checkpoint from someone else that unpickles weights-only but is not what asrlab-train
writes is named by file and key, in every tool that reads one, before anything is built."""

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from asrlab.cli.average import main as average
from asrlab.cli.export import main as export
from asrlab.tools.evaluation.inputs import EvaluationError, load_checkpoint
from asrlab.training.checkpoint import read_checkpoint
from asrlab.training.checkpoint_contents import CheckpointError, checked_contents
from asrlab.training.init_from import init_from_checkpoint

KEYS = ("state_dict", "asrlab_config", "tokenizer", "epoch", "global_step")


def _contents(**changes: Any) -> dict[str, Any]:
    contents = {
        "state_dict": {"w": torch.ones(2), "head._extra_state": {"labels": []}},
        "asrlab_config": {},
        "tokenizer": {"type": "char"},
        "epoch": 1,
        "global_step": 1,
    }
    return {**contents, **changes}


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ([1, 2], "not a checkpoint (a list)"),
        ({"state_dict": {}}, "not an asrlab checkpoint: no asrlab_config, tokenizer, epoch"),
        (_contents(state_dict=[1]), "state_dict is a list, not a mapping"),
        (_contents(asrlab_config="_target_: os.system"), "asrlab_config is a str, not a mapping"),
        (_contents(tokenizer="abc"), "tokenizer is a str, not a mapping"),
        (_contents(global_step="9"), "global_step is a str, not an integer"),
        (_contents(callbacks=[1]), "callbacks is a list, not a mapping"),
        (_contents(state_dict={"w": "x"}), "state_dict['w'] is a str, not a tensor"),
        (_contents(state_dict={"head._extra_state": 1}), "'head._extra_state'] is a int, not a"),
        (_contents(state_dict={"w": torch.tensor([0.0, float("nan")])}), "NaN or infinite"),
    ],
)
def test_contents_that_are_not_a_checkpoint_are_named(contents: Any, message: str) -> None:
    with pytest.raises(CheckpointError) as err:
        checked_contents("x.ckpt", contents, KEYS)
    assert str(err.value).startswith("x.ckpt: ") and message in str(err.value)


def test_a_checkpoint_asrlab_train_wrote_passes(tiny_run: Path) -> None:
    path = tiny_run / "checkpoints" / "last.ckpt"
    checked_contents(path, read_checkpoint(path), KEYS)


def _spoiled(tiny_run: Path, folder: Path, spoil) -> Path:
    checkpoint = read_checkpoint(tiny_run / "checkpoints" / "last.ckpt")
    spoil(checkpoint)
    path = folder / "run" / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    torch.save(checkpoint, path)
    return path


def _nan_head(checkpoint: dict[str, Any]) -> None:
    weight = next(k for k in checkpoint["state_dict"] if k.startswith("head."))
    checkpoint["state_dict"][weight] = torch.full_like(checkpoint["state_dict"][weight], torch.nan)


def _other_alphabet(checkpoint: dict[str, Any]) -> None:
    checkpoint["tokenizer"]["alphabet"] = checkpoint["tokenizer"]["alphabet"][:-2]


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda c: c.__setitem__("state_dict", [1]), "state_dict is a list, not a mapping"),
        (lambda c: c.__setitem__("tokenizer", "abc"), "tokenizer is a str, not a mapping"),
        (lambda c: c["tokenizer"].pop("type"), "tokenizer: not one asrlab wrote (KeyError"),
        (_nan_head, "holds NaN or infinite values"),
        (_other_alphabet, "its weights do not fit the model its config and tokenizer build"),
    ],
)
def test_eval_and_export_refuse_in_one_line(
    spoil, message: str, tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = _spoiled(tiny_run, tmp_path, spoil)
    with pytest.raises(EvaluationError) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"ckpt_path={path}: ") and message in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(SystemExit):
        export([str(path)])
    assert capsys.readouterr().err == f"asrlab-export: {err.value.args[0][10:]}\n"


def test_average_refuses_a_malformed_checkpoint_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    monitor = {"monitor": "val/wer", "best_k_models": {str(folder / "b.ckpt"): "low"}}
    torch.save(_contents(global_step=1), folder / "a.ckpt")
    torch.save(_contents(global_step=2, callbacks={"ModelCheckpoint": monitor}), folder / "b.ckpt")
    with pytest.raises(SystemExit):
        average([str(tmp_path / "run"), "--best", "1"])
    expected = f"asrlab-average: {folder / 'b.ckpt'}: its recorded val/wer is a str, not a number\n"
    assert capsys.readouterr().err == expected


def test_init_from_a_file_that_is_not_a_checkpoint_is_named(tmp_path: Path) -> None:
    path = tmp_path / "weights.ckpt"
    torch.save({"state_dict": [1]}, path)
    model = nn.Sequential(nn.Linear(1, 1))
    with pytest.raises(CheckpointError, match=rf"^init_from={path}: state_dict is a list, not a"):
        init_from_checkpoint(model, None, path, ["0"], True, tmp_path)
