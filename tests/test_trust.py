"""A config read from a file (checkpoint, run folder, --config-path) instantiates only targets
asrlab's config groups use or the user trusts: crafted ones are refused, naming the file, the key
and the target, before anything of them runs."""

import base64
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hydra import compose, initialize_config_module

from asrlab.cli import reproduce
from asrlab.cli.eval import main as eval_main
from asrlab.training.checkpoint import load_model, read_checkpoint
from asrlab.training.compose import compose_config
from asrlab.trust.configs import CONF, ENV, UntrustedTargetError, check_command_line, check_config


class Touch:
    """Unpickles into `os.system("touch MARKER")`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (f"touch '{self.marker}'",)


def pickle_loader(marker: Path) -> dict[str, Any]:
    """The issue's encoder: torch.load(weights_only=False) of a base64 pickle that creates MARKER;
    it holds only strings, so it passes the weights-only unpickler."""
    payload = base64.b64encode(pickle.dumps(Touch(marker))).decode()
    return {
        "_target_": "torch.load",
        "weights_only": False,
        "f": {
            "_target_": "io.BytesIO",
            "initial_bytes": {"_target_": "base64.b64decode", "s": payload},
        },
    }


def crafted_checkpoint(tiny_run: Path, folder: Path, encoder: Any) -> Path:
    """tiny_run's last.ckpt with `asrlab_config.encoder` replaced: FOLDER/checkpoints/last.ckpt."""
    checkpoint = read_checkpoint(tiny_run / "checkpoints" / "last.ckpt")
    checkpoint["asrlab_config"]["encoder"] = encoder
    path = folder / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    torch.save(checkpoint, path)
    return path


def test_the_issues_checkpoint_is_refused_before_its_pickle_runs(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "MARKER"
    path = crafted_checkpoint(tiny_run, tmp_path, pickle_loader(marker))
    with pytest.raises(UntrustedTargetError) as refused:
        load_model(path)
    message = str(refused.value)
    assert f"{path}: asrlab_config.encoder._target_: torch.load is not a target" in message
    assert ENV in message and "\n" not in message
    assert not marker.exists()

    # Trusting torch.load alone is not enough: the nodes inside it are checked too.
    monkeypatch.setenv(ENV, "torch.load")
    with pytest.raises(UntrustedTargetError, match="asrlab_config.encoder.f._target_: io.BytesIO"):
        load_model(path)
    assert not marker.exists()


def test_asrlab_eval_exits_with_the_refusal_alone(
    tiny_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "MARKER"
    path = crafted_checkpoint(tiny_run, tmp_path, pickle_loader(marker))
    cfg = compose_config([f"ckpt_path={path}"], tmp_path / "eval", config_name="eval")
    with pytest.raises(SystemExit) as exit_info:
        eval_main.__wrapped__(cfg)  # the function under @hydra.main
    assert exit_info.value.code == 1 and exit_info.value.__cause__ is None
    (record,) = caplog.records
    message = record.getMessage()
    assert message.startswith(f"ckpt_path={path}: asrlab_config.encoder._target_: torch.load ")
    assert message.count(str(path)) == 1 and "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "encoder",
    [
        "${oc.create:{_target_: torch.load, f: x}}",
        {"_target_": "${oc.env:EVIL}", "f": "x"},
        {"_target_": "asrlab.model.encoders.rnn.GRUEncoder", "n": "${oc.select:no,{_target_: x}}"},
        {"_target_": "asrlab.model.encoders.rnn.GRUEncoder", "n": "${oc.cr${a}eate:{_target_: x}}"},
    ],
)
def test_interpolations_cannot_smuggle_a_target_in(encoder: Any, tmp_path: Path) -> None:
    with pytest.raises(UntrustedTargetError, match=r"^ckpt: asrlab_config\.encoder"):
        check_config({"encoder": encoder}, "ckpt", "asrlab_config")


def test_a_config_must_be_a_mapping_not_yaml_text() -> None:
    with pytest.raises(UntrustedTargetError, match="ckpt: asrlab_config: a str, not a mapping"):
        check_config("encoder: {_target_: os.remove}", "ckpt", "asrlab_config")


def test_user_trust_from_the_environment_or_the_command_line_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = {"encoder": {"_target_": "mypkg.enc.Encoder", "layers": [{"_target_": "mypkg.Block"}]}}
    with pytest.raises(UntrustedTargetError, match=r"encoder\._target_: mypkg\.enc\.Encoder"):
        check_config(cfg, "f.yaml")
    with pytest.raises(UntrustedTargetError, match=r"encoder\.layers\[0\]\._target_"):
        check_config(cfg, "f.yaml", trusted=["mypkg.enc.Encoder"])
    check_config(cfg, "f.yaml", trusted=["mypkg."])
    monkeypatch.setenv(ENV, "mypkg.enc.Encoder, mypkg.Block")
    check_config(cfg, "f.yaml")
    # A trust list inside the file is data like the rest.
    monkeypatch.delenv(ENV)
    with pytest.raises(UntrustedTargetError):
        check_config({**cfg, "trust": ["mypkg."]}, "f.yaml")


@pytest.mark.slow
def test_every_option_of_asrlab_s_config_groups_is_trusted() -> None:
    defaults = yaml.safe_load((CONF / "train.yaml").read_text())["defaults"]
    groups = [group for entry in defaults if isinstance(entry, dict) for group in entry]
    with initialize_config_module("asrlab.conf", version_base="1.3"):
        nested = [d.relative_to(CONF).as_posix() for g in groups for d in (CONF / g).glob("*/")]
        assert "callbacks/progress_bar" in nested
        for group in sorted(set(groups + nested) - {"hydra"}):
            for option in sorted(p.stem for p in (CONF / group).glob("[!_]*.yaml")):
                check_config(compose("train", [f"{group}={option}"]), f"{group}={option}")
        for name in ("eval", "decode", "transcribe", "doctor", "scan"):
            check_config(compose(name), name)
        decoders = ",".join(p.stem for p in (CONF / "decoder").glob("*.yaml"))
        check_config(compose("eval", [f"decoders=[{decoders}]"]), "eval")


def run_folder(folder: Path, config: dict[str, Any]) -> Path:
    """A run folder whose .hydra/config.yaml is `config`."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / "run_info.json").write_text(json.dumps({"seed": 1}))
    return folder


def opener(victim: Path) -> dict[str, Any]:
    return {"_target_": "builtins.open", "file": str(victim), "mode": "w"}


def logging_to(victim: Path) -> dict[str, Any]:
    return {"job_logging": {"handlers": {"file": {"filename": str(victim), "mode": "w"}}}}


ATTACKS = {
    "callbacks.x._target_": lambda victim: {"callbacks": {"x": opener(victim)}},
    # with a trust list inside the file, which counts for nothing
    "callbacks.x._target_ ": lambda v: {"callbacks": {"x": opener(v)}, "trust": ["builtins."]},
    "hydra.callbacks.x._target_": lambda victim: {"hydra": {"callbacks": {"x": opener(victim)}}},
    "hydra.launcher._target_": lambda victim: {"hydra": {"launcher": {"_target_": "os.remove"}}},
    "hydra.job_logging": lambda victim: {"hydra": logging_to(victim)},
    "hydra.job.env_set": lambda victim: {"hydra": {"job": {"env_set": {"X": str(victim)}}}},
}


@pytest.mark.parametrize("key", ATTACKS)
def test_reproduce_refuses_a_run_folder_that_would_write_a_file(
    key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    run = run_folder(tmp_path / "run", ATTACKS[key](victim))
    monkeypatch.setattr(sys, "argv", sys.argv[:])
    with pytest.raises(SystemExit) as refused:
        reproduce.main([str(run), "--out", str(tmp_path / "again")])
    message = str(refused.value.code)
    config = run.resolve() / ".hydra" / "config.yaml"
    assert message.startswith(f"asrlab-train: {config}: {key.strip()}: "), message
    assert victim.read_text() == "precious"
    assert not (tmp_path / "again").exists()


def test_command_line_targets_and_trust_keep_working(tmp_path: Path) -> None:
    own = ["encoder._target_=mypkg.Encoder", "+callbacks.x._target_=mypkg.Callback"]
    check_command_line(own)  # asrlab's own configs: the command line is the user's
    gru = {"_target_": "asrlab.model.encoders.rnn.GRUEncoder", "hidden_size": 4}
    run = run_folder(tmp_path / "run", {"encoder": gru})
    folder = ["--config-path", str(run / ".hydra"), "--config-name", "config"]
    check_command_line(folder)
    with pytest.raises(UntrustedTargetError, match=r"encoder\._target_: mypkg\.Encoder"):
        check_command_line([*folder, "encoder._target_=mypkg.Encoder"])
    check_command_line([*folder, "encoder._target_=mypkg.Encoder", "+trust=[mypkg.]"])
    check_command_line([*folder, "-m", "encoder.hidden_size=8,16", "+trust=mypkg.Encoder"])
