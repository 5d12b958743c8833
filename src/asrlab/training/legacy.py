"""Configs that asrlab saved before its modules moved into model/, text/ and training/ (0.1):
their `_target_`s under the names they have now, so that older checkpoints still load."""

from typing import Any

RENAMED = {
    "asrlab.callbacks.": "asrlab.training.callbacks.",
    "asrlab.checkpoint_io.": "asrlab.training.checkpoint_io.",
    "asrlab.data.bpe.": "asrlab.text.bpe.",
    "asrlab.data.tokenizer.": "asrlab.text.tokenizer.",
    "asrlab.encoders.": "asrlab.model.encoders.",
    "asrlab.features.augment.": "asrlab.model.augment.features.",
    "asrlab.features.frontends.": "asrlab.model.frontends.",
    "asrlab.features.wave_augment.": "asrlab.model.augment.waveform.",
    "asrlab.heads.": "asrlab.model.heads.",
    "asrlab.schedulers.": "asrlab.training.schedulers.",
}


def _renamed(target: str) -> str:
    for old, new in RENAMED.items():
        if target.startswith(old):
            return new + target[len(old) :]
    return target


def renamed_targets(config: Any) -> Any:
    """A plain (container) config with every string `_target_` under its current name."""
    if isinstance(config, dict):
        return {
            key: _renamed(value)
            if key == "_target_" and isinstance(value, str)
            else renamed_targets(value)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [renamed_targets(value) for value in config]
    return config
