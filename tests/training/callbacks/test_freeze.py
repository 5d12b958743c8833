"""Freeze: named modules get no gradient and keep their BatchNorm statistics for the first epochs,
then train; a run fine-tuned from a checkpoint with its encoder frozen, and resumed mid-way."""

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from asrlab.training.callbacks.freeze import Freeze, FreezeConfigError
from asrlab.training.checkpoint import read_checkpoint
from asrlab.training.run import train
from helpers import compose_train, manifest_overrides
from test_reproduce import TINY_RUN


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        self.head = nn.Linear(4, 2)


def _at(epoch: int, world_size: int = 1) -> SimpleNamespace:
    return SimpleNamespace(current_epoch=epoch, world_size=world_size)


def test_frozen_for_the_first_epochs_then_trained() -> None:
    net, freeze = _Net(), Freeze(["encoder"], epochs=2)
    freeze.setup(_at(0), net, "fit")
    for epoch, frozen in [(0, True), (1, True), (2, False), (3, False)]:
        freeze.on_train_epoch_start(_at(epoch), net)
        assert [p.requires_grad for p in net.encoder.parameters()] == [not frozen] * 4
        assert net.encoder[1].training is not frozen
        assert all(p.requires_grad for p in net.head.parameters()) and net.head.training


def test_a_run_resumed_past_the_unfreezing_trains_the_module() -> None:
    net = _Net()
    net.encoder.requires_grad_(False)
    Freeze(["encoder"], epochs=1).on_train_start(_at(3), net)
    assert all(p.requires_grad for p in net.parameters())


def test_bad_settings_are_named() -> None:
    with pytest.raises(
        FreezeConfigError, match=r"freeze.modules: the model has no module encodr \(it"
    ):
        Freeze(["encodr"], epochs=1).setup(_at(0), _Net(), "fit")
    with pytest.raises(FreezeConfigError, match="freeze.modules: not with several processes"):
        Freeze(["encoder"], epochs=1).setup(_at(0, world_size=2), _Net(), "fit")


def _encoder(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.startswith("encoder.")}


def test_fine_tuned_with_the_encoder_frozen_one_epoch_and_resumed_exactly(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    # TINY_RUN: 2 epochs of 4 steps; a checkpoint every epoch and every 2 steps, all kept.
    source = tiny_run / "checkpoints" / "last.ckpt"
    overrides = [*manifest_overrides(tiny_synth), *TINY_RUN, "encoder.hidden_size=32"]
    overrides += ["encoder.num_layers=1", f"init_from={source}", "freeze.modules=[encoder]"]
    overrides += ["freeze.epochs=1", "callbacks.model_checkpoint.save_top_k=-1"]
    overrides += ["callbacks.step_checkpoint.every_n_train_steps=2"]
    overrides += ["callbacks.step_checkpoint.save_top_k=-1", "~callbacks.probe_view"]
    run = tmp_path / "run"
    train(compose_train(overrides, run))

    pretrained = _encoder(read_checkpoint(source)["state_dict"])
    epochs = [read_checkpoint(p) for p in sorted((run / "checkpoints").glob("epoch0*.ckpt"))]
    assert [c["epoch"] for c in epochs] == [0, 1]
    for key, value in _encoder(epochs[0]["state_dict"]).items():
        assert torch.equal(value, pretrained[key]), key  # copied, then frozen for epoch 0
    assert all(
        not torch.equal(v, pretrained[k]) for k, v in _encoder(epochs[1]["state_dict"]).items()
    )
    # One param group of every parameter; only the head's have moments before the unfreezing.
    parameters = [k for k in epochs[0]["state_dict"] if k.startswith(("encoder.", "head."))]
    for checkpoint, updated in zip(epochs, [2, len(parameters)], strict=True):
        (group,) = checkpoint["optimizer_states"][0]["param_groups"]
        assert len(group["params"]) == len(parameters)
        assert len(checkpoint["optimizer_states"][0]["state"]) == updated
    info = json.loads((run / "run_info.json").read_text())
    assert info["init_from"]["path"] == str(source.resolve())

    # Resumed from step 2, mid-way through the frozen epoch: the same weights at the end.
    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(run / "run_info.json", resumed / "run_info.json")
    middle = shutil.copy(run / "checkpoints" / "epoch=0-step=2.ckpt", resumed / "checkpoints")
    train(compose_train([*overrides, f"ckpt_path='{middle}'"], resumed))
    final, again = (read_checkpoint(r / "checkpoints" / "last.ckpt") for r in (run, resumed))
    assert again["global_step"] == final["global_step"] == 8
    for key, value in final["state_dict"].items():
        assert torch.equal(again["state_dict"][key], value), key
    assert json.loads((resumed / "run_info.json").read_text())["init_from"] == info["init_from"]
