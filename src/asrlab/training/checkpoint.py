"""Loading a trained model from its checkpoint alone: weights, tokenizer and resolved config."""

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from asrlab.decoders.resolve import for_trained_run
from asrlab.model.build import build_model
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import tokenizer_from_state_dict
from asrlab.training.checkpoint_contents import CheckpointError, checked_contents
from asrlab.training.legacy import renamed_targets
from asrlab.trust.configs import check_config
from asrlab.trust.pickles import safe_load


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, unpickled weights-only: a file that would run code raises
    `UnsafeCheckpointError` (asrlab.trust.pickles)."""
    return safe_load(path)


def checkpoint_config(path: Path, checkpoint: dict[str, Any]) -> DictConfig:
    """The resolved config of the run of the checkpoint `path` (RUN/checkpoints/X.ckpt), checked
    before anything of it is instantiated (`UntrustedTargetError`: asrlab.trust.configs); an LM it
    estimated (`decoder.lm: train`, `head.lm: train`) is the run folder's
    (`asrlab.decoders.resolve`). Targets an older asrlab saved are read under their current names
    (`asrlab.training.legacy`)."""
    config = renamed_targets(checkpoint["asrlab_config"])
    check_config(config, str(path), "asrlab_config")
    cfg = OmegaConf.create(config)
    with open_dict(cfg):
        cfg.decoder = for_trained_run(cfg.decoder, "asrlab_config.decoder", path, cfg)
        cfg.head = for_trained_run(cfg.head, "asrlab_config.head", path, cfg)
    return cfg


def load_model(path: str | Path) -> tuple[ASRModel, DictConfig]:
    """The model of a checkpoint in a run folder (RUN/checkpoints/X.ckpt), in eval mode, with
    its config. Contents that are not what asrlab-train writes raise CheckpointError naming the
    file and key."""
    path = Path(path)
    keys = ("state_dict", "asrlab_config", "tokenizer")
    checkpoint = checked_contents(path, read_checkpoint(path), keys)
    cfg = checkpoint_config(path, checkpoint)
    try:
        tokenizer = tokenizer_from_state_dict(checkpoint["tokenizer"])
    except (KeyError, TypeError) as err:  # a ValueError of a tokenizer names what is wrong
        raise CheckpointError(f"{path}: tokenizer: not one asrlab wrote ({err!r})") from None
    labels = checkpoint["state_dict"].get("head._extra_state", {}).get("labels", [])
    model = build_model(cfg, tokenizer, texts=lambda: labels)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:  # torch lists every key over lines: one line is kept
        raise CheckpointError(
            f"{path}: its weights do not fit the model its config and tokenizer build "
            f"({' '.join(str(err).split())})"
        ) from None
    return model.eval(), cfg
