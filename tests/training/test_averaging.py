"""Checkpoint averaging (asrlab-average): copies of one checkpoint average to it, two to their
mean, BatchNorm buffers as documented; differing configs or weights are refused by name; the
result loads in every tool."""

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from asrlab.cli.average import main
from asrlab.tools.evaluation.run import evaluate
from asrlab.training.averaging import AveragingError, averaged_state_dict, write_average
from asrlab.training.checkpoint import load_model, read_checkpoint
from asrlab.training.compose import compose_config

MONITOR_STATE = "ModelCheckpoint{'monitor': 'val/wer'}"


def _write(folder: Path, name: str, contents: dict[str, Any], step: int, wer: float | None) -> Path:
    """`contents` as FOLDER/NAME.ckpt at `step` (epoch = step), with the validation WER a
    ModelCheckpoint records for the files it keeps."""
    path = folder / f"{name}.ckpt"
    kept = {str(path): torch.tensor(wer)} if wer is not None else {}
    callbacks = {MONITOR_STATE: {"monitor": "val/wer", "best_k_models": kept}}
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({**contents, "epoch": step, "global_step": step, "callbacks": callbacks}, path)
    return path


@pytest.fixture
def trained(tiny_run: Path) -> dict[str, Any]:
    return read_checkpoint(tiny_run / "checkpoints" / "last.ckpt")


def _shifted(checkpoint: dict[str, Any], by: float) -> dict[str, Any]:
    state = {k: v + by if v.is_floating_point() else v for k, v in checkpoint["state_dict"].items()}
    return {**checkpoint, "state_dict": state}


def test_copies_of_one_checkpoint_average_to_it_and_load(
    trained: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "run" / "checkpoints"
    for step in (1, 2):
        _write(folder, f"epoch{step}", trained, step, wer=0.5)
    _write(folder, "last", trained, 3, wer=None)
    main([str(tmp_path / "run"), "--last", "3"])
    assert "wrote" in capsys.readouterr().out
    averaged = read_checkpoint(folder / "averaged.ckpt")
    for key, value in trained["state_dict"].items():
        assert torch.equal(averaged["state_dict"][key], value), key
    assert "optimizer_states" not in averaged
    files = [record["file"] for record in averaged["averaged"]["checkpoints"]]
    assert averaged["averaged"]["rank"] == "last" and files == [
        "last.ckpt",
        "epoch2.ckpt",
        "epoch1.ckpt",
    ]

    model, _ = load_model(folder / "averaged.ckpt")
    for name, value in model.state_dict().items():
        assert torch.equal(value, trained["state_dict"][name]), name
    # An averaged checkpoint is not averaged again.
    main([str(tmp_path / "run"), "--last", "3"])
    again = read_checkpoint(folder / "averaged.ckpt")["averaged"]["checkpoints"]
    assert [record["file"] for record in again] == files


def test_two_checkpoints_average_to_their_mean(trained: dict[str, Any], tmp_path: Path) -> None:
    _write(tmp_path, "a", trained, 1, wer=0.4)
    _write(tmp_path, "b", _shifted(trained, 1.0), 2, wer=0.3)
    write_average(tmp_path, "last", 2, tmp_path / "out" / "mean.ckpt")
    averaged = read_checkpoint(tmp_path / "out" / "mean.ckpt")["state_dict"]
    for key, value in trained["state_dict"].items():
        torch.testing.assert_close(averaged[key], value + 0.5, msg=key)


def test_best_ranks_by_validation_wer_and_skips_unscored_files(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    _write(tmp_path, "worst", _shifted(trained, 3.0), 1, wer=0.9)
    _write(tmp_path, "best", trained, 2, wer=0.1)
    _write(tmp_path, "second", _shifted(trained, 1.0), 3, wer=0.2)
    _write(tmp_path, "last", _shifted(trained, 5.0), 4, wer=None)
    records = write_average(tmp_path, "best", 2, tmp_path / "averaged.ckpt")
    assert [(r["file"], r["val_wer"]) for r in records] == [
        ("best.ckpt", pytest.approx(0.1)),
        ("second.ckpt", pytest.approx(0.2)),
    ]
    averaged = read_checkpoint(tmp_path / "averaged.ckpt")
    assert averaged["global_step"] == 2  # the reference is the best
    weight = averaged["state_dict"]["head.linear.weight"]
    torch.testing.assert_close(weight, trained["state_dict"]["head.linear.weight"] + 0.5)
    with pytest.raises(AveragingError, match="holds 3 checkpoint.*save_top_k=4"):
        write_average(tmp_path, "best", 4, tmp_path / "averaged.ckpt")


def test_batch_norm_statistics_are_averaged_and_its_step_count_is_the_references() -> None:
    states = []
    for shift, batches in ((0.0, 1), (4.0, 3)):
        norm = nn.BatchNorm1d(3)
        for _ in range(batches):
            norm(torch.randn(8, 3) + shift)
        states.append(norm.state_dict())
    averaged = averaged_state_dict(states)
    for key in ("running_mean", "running_var", "weight", "bias"):
        torch.testing.assert_close(averaged[key], (states[0][key] + states[1][key]) / 2)
    assert averaged["num_batches_tracked"].dtype == torch.int64
    assert averaged["num_batches_tracked"] == 1
    nn.BatchNorm1d(3).load_state_dict(averaged)


def test_differing_configs_are_refused_naming_the_keys(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    config = trained["asrlab_config"]
    other = {**config, "seed": 7, "encoder": {**config["encoder"], "dropout": 0.5}}
    other["trainer"] = {**config["trainer"], "max_epochs": 99}  # how it ran: may differ
    _write(tmp_path, "a", trained, 1, wer=0.5)
    _write(tmp_path, "b", {**trained, "asrlab_config": other}, 2, wer=0.5)
    refusal = (
        r"a\.ckpt cannot be averaged with .*b\.ckpt: config differs at encoder\.dropout, seed$"
    )
    with pytest.raises(AveragingError, match=refusal):
        write_average(tmp_path, "last", 2, tmp_path / "averaged.ckpt")
    assert not (tmp_path / "averaged.ckpt").exists()


def test_differing_weights_are_refused_naming_keys_and_shapes(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    state = dict(trained["state_dict"])
    state["head.linear.bias"] = torch.zeros(3)
    del state["head.linear.weight"]
    _write(tmp_path, "odd", {**trained, "state_dict": state}, 1, wer=0.5)
    _write(tmp_path, "newest", trained, 2, wer=0.5)
    with pytest.raises(AveragingError, match=r"odd\.ckpt cannot be averaged") as refused:
        write_average(tmp_path, "last", 2, tmp_path / "averaged.ckpt")
    message = str(refused.value)
    assert "head.linear.bias of shape (3,), not (29,)" in message
    assert "head.linear.weight missing" in message


def test_the_cli_refuses_in_one_line(
    trained: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as no_run:
        main([str(tmp_path / "nothing"), "--best", "2"])
    assert no_run.value.code == 2 and "no checkpoints folder" in capsys.readouterr().err
    _write(tmp_path / "run" / "checkpoints", "only", trained, 1, wer=0.5)
    with pytest.raises(SystemExit) as too_few:
        main([str(tmp_path / "run"), "--last", "2"])
    error = capsys.readouterr().err
    assert too_few.value.code == 1 and error.count("\n") == 1
    assert "holds 1 checkpoint(s) of distinct steps" in error and "callbacks=average" in error


def test_asrlab_eval_scores_the_average_of_copies_as_the_checkpoint(
    tiny_run: Path, trained: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "run" / "checkpoints"
    for step in (1, 2):
        _write(folder, f"epoch{step}", trained, step, wer=0.5)
    main([str(tmp_path / "run"), "--best", "2"])
    scores = []
    for checkpoint in (folder / "averaged.ckpt", tiny_run / "checkpoints" / "last.ckpt"):
        out = tmp_path / "eval" / checkpoint.stem
        scores.append(
            evaluate(compose_config([f"ckpt_path={checkpoint}"], out, config_name="eval"))
        )
    averaged, original = (score["decoders"]["checkpoint"] for score in scores)
    for name in ("wer", "cer", "acc", "utterances"):
        assert averaged[name] == original[name], name
