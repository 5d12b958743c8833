"""Loading a trained model from its checkpoint alone: weights, tokenizer and resolved config."""

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from asrlab.build import LM_FROM_TRAINING, build_model
from asrlab.data.tokenizer import tokenizer_from_state_dict
from asrlab.module import ASRModel
from asrlab.safe_load import safe_load
from asrlab.trust import check_config


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, unpickled weights-only: a file that would run code raises
    `UnsafeCheckpointError` (asrlab.safe_load)."""
    return safe_load(path)


def run_decoder(decoder: DictConfig, run_dir: Path) -> DictConfig:
    """A `decoder` config whose LM estimated from the training transcripts (`lm: train`) is the
    run folder's lm.arpa."""
    if decoder.get("lm") != LM_FROM_TRAINING:
        return decoder
    return OmegaConf.merge(decoder, {"lm": str(run_dir / "lm.arpa")})


def missing_lm(decoder: DictConfig, run_dir: Path, key: str) -> str | None:
    """What is wrong with a resolved decoder config (`run_decoder`) whose LM file does not
    exist, naming its config `key` (e.g. decoder.lm); None when it has no LM or the file exists."""
    lm = decoder.get("lm")
    if not lm or Path(lm).is_file():
        return None
    if Path(lm) == run_dir / "lm.arpa":
        return (
            f"{key}: the LM estimated from the run's training transcripts is its folder's "
            f"lm.arpa, and {lm} does not exist (the run was trained without decoder=beam_lm): "
            f"give {key}=FILE.arpa (asrlab-lm builds one)"
        )
    return f"{key}={lm}: no such file"


def checkpoint_config(path: Path, checkpoint: dict[str, Any]) -> DictConfig:
    """The resolved config of the run of the checkpoint `path` (RUN/checkpoints/X.ckpt), checked
    before anything of it is instantiated (`UntrustedTargetError`: asrlab.trust); an LM it
    estimated (`decoder.lm: train`) is the run folder's."""
    check_config(checkpoint["asrlab_config"], str(path), "asrlab_config")
    run_dir = path.parent.parent
    cfg = OmegaConf.create(checkpoint["asrlab_config"])
    with open_dict(cfg):
        cfg.decoder = run_decoder(cfg.decoder, run_dir)
    return cfg


def load_model(path: str | Path) -> tuple[ASRModel, DictConfig]:
    """The model of a checkpoint in a run folder (RUN/checkpoints/X.ckpt), in eval mode, with
    its config."""
    path = Path(path)
    checkpoint = read_checkpoint(path)
    cfg = checkpoint_config(path, checkpoint)
    tokenizer = tokenizer_from_state_dict(checkpoint["tokenizer"])
    labels = checkpoint["state_dict"].get("head._extra_state", {}).get("labels", [])
    model = build_model(cfg, tokenizer, texts=lambda: labels)
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), cfg
