"""Composing asrlab's configs outside a Hydra entry point: tests, benchmarks, notebooks."""

from pathlib import Path

from hydra import compose, initialize_config_module
from omegaconf import DictConfig, open_dict


def compose_config(
    overrides: list[str],
    output_dir: str | Path,
    root_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    config_name: str = "train",
) -> DictConfig:
    """The composed config with its run folder at `output_dir` (no Hydra run is started, so the
    paths Hydra would fill in are set here); `root_dir` and `data_dir` default to the config's."""
    with initialize_config_module("asrlab.conf", version_base="1.3"):
        cfg = compose(config_name, overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.root_dir = str(root_dir or Path.cwd())
        if data_dir is not None:
            cfg.paths.data_dir = str(data_dir)
    return cfg
