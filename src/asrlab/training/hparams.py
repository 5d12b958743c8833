"""What TensorBoard's hparams tab shows of a training run: the option chosen in each config group
(`encoder: gru`, `features: logmel`, ...), the numbers users sweep first, and every number the
command line set; not the whole config, whose constants would crowd them out."""

from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

# The settings sweeps change first, where the chosen options have them.
SWEPT = (
    "seed",
    "optimizer.lr",
    "optimizer.weight_decay",
    "data.batch_size",
    "data.max_frames_per_batch",
    "trainer.max_epochs",
    "trainer.accumulate_grad_batches",
    "features.n_features",
    "encoder.hidden_size",
    "encoder.d_model",
    "encoder.num_layers",
    "encoder.dropout",
    "tokenizer.vocab_size",
)


def group_choices() -> dict[str, str]:
    """In a Hydra run, the option chosen in each of asrlab's config groups ({'encoder': 'gru',
    ...}; a list of options joined by commas; unset groups and Hydra's own left out); outside one
    (a config from `compose_config`), none."""
    if not HydraConfig.initialized():
        return {}
    choices = OmegaConf.to_container(HydraConfig.get().runtime.choices)
    return {
        group: ",".join(choice) if isinstance(choice, list) else str(choice)
        for group, choice in choices.items()
        if choice is not None and group != "hydra" and not group.startswith("hydra/")
    }


def _overridden_keys() -> list[str]:
    """The config keys the command line set (`encoder.hidden_size=64`, `+x=1`); none outside
    a Hydra run."""
    if not HydraConfig.initialized():
        return []
    assignments = (o for o in HydraConfig.get().overrides.task if not o.startswith("~"))
    return [o.split("=", 1)[0].lstrip("+") for o in assignments if "=" in o]


def hparams(cfg: DictConfig) -> dict[str, Any]:
    """The tab's columns: `group_choices`, then the numbers of `SWEPT` the config has and the
    numbers the command line set, by dotted key."""
    numbers = {}
    for key in (*SWEPT, *_overridden_keys()):
        value = OmegaConf.select(cfg, key, default=None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            numbers[key] = value
    return {**group_choices(), **numbers}
