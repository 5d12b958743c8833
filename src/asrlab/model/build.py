"""Builds the model from a composed config; shared by training and later by eval and export."""

import functools
import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.loggers import Logger
from torch import nn

from asrlab.data.datamodule import ASRDataModule
from asrlab.data.folds import build_source
from asrlab.data.source import training_texts
from asrlab.decoders.resolve import RUN_LM, fit_lm, resolve
from asrlab.model.augment.features import Compose
from asrlab.model.module import ASRModel
from asrlab.text.bpe import BPETokenizerSpec
from asrlab.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)

TextsFactory = Callable[[], list[str]]
# The loggers whose package is not a dependency but in the `loggers` extra.
EXTRA_LOGGERS = {
    "pytorch_lightning.loggers.MLFlowLogger": "mlflow",
    "pytorch_lightning.loggers.WandbLogger": "wandb",
}


def build_tokenizer(cfg: DictConfig, texts: TextsFactory | None = None) -> Tokenizer:
    """The `tokenizer` config; BPE is trained on the training transcripts (`texts`, default:
    read from the data source) and its model saved into the run folder."""
    tokenizer = instantiate(cfg.tokenizer)
    if isinstance(tokenizer, BPETokenizerSpec):
        texts = texts or (lambda: training_texts(cfg))
        return tokenizer.train(texts(), model_dir=cfg.paths.output_dir)
    return tokenizer


def with_fitted_lm(cfg: DictConfig, key: str, texts: TextsFactory) -> DictConfig:
    """The `key` config (`decoder`, or a `head` with an LM of its own) with `lm: train` resolved:
    the `lm` config's n-gram model, estimated from the training transcripts into the run
    folder's lm.arpa (`asrlab.decoders.resolve`)."""
    run_lm = Path(cfg.paths.output_dir) / RUN_LM
    return resolve(cfg[key], key, lambda: fit_lm(texts(), run_lm, cfg.lm))


def build_decoder(cfg: DictConfig, texts: TextsFactory) -> Callable[..., Any]:
    """The `decoder` config, partial (the CTC head gives it the tokenizer), `lm: train` fitted."""
    return instantiate(with_fitted_lm(cfg, "decoder", texts))


def build_augment(stage: DictConfig) -> Compose:
    """One augment stage (`augment.waveform` or `augment.features`): its transforms in order."""
    return Compose([instantiate(transform) for transform in stage.values()])


def build_head(
    cfg: DictConfig, input_dim: int, tokenizer: Tokenizer, texts: TextsFactory
) -> nn.Module:
    """The `head` config on top of an encoder of width `input_dim`. Parts fitted to the
    training transcripts read them (once) only when they are asked for: a classifier's
    `labels: null` takes the distinct transcripts, and the CTC head's decoder or the hybrid
    head (`head.lm: train`) may need an LM."""
    kwargs: dict[str, Any] = {"input_dim": input_dim, "tokenizer": tokenizer}
    if "labels" in cfg.head and cfg.head.labels is None:
        kwargs["labels"] = sorted({tokenizer.normalize(text) for text in texts()})
    if "decoder" in cfg.head:
        kwargs["decoder"] = build_decoder(cfg, texts)
    return instantiate(with_fitted_lm(cfg, "head", texts), **kwargs)


def build_model(
    cfg: DictConfig, tokenizer: Tokenizer, texts: TextsFactory | None = None
) -> ASRModel:
    """The model of `cfg`; `texts` gives the training transcripts for parts fitted to them
    (default: read from the data source, once)."""
    frontend = instantiate(cfg.features)
    if "input_dim" in cfg.encoder and cfg.encoder.input_dim != frontend.n_features:
        raise ValueError(
            f"encoder.input_dim={cfg.encoder.input_dim} but features.n_features="
            f"{frontend.n_features}: the encoder must read every feature of a frame "
            "(leave encoder.input_dim at its default, ${features.n_features})"
        )
    encoder = instantiate(cfg.encoder)
    texts = functools.cache(texts or (lambda: training_texts(cfg)))
    return ASRModel(
        frontend=frontend,
        wave_augment=build_augment(cfg.augment.waveform),
        augment=build_augment(cfg.augment.features),
        encoder=encoder,
        head=build_head(cfg, encoder.output_dim, tokenizer, texts),
        tokenizer=tokenizer,
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler),
        config=OmegaConf.to_container(cfg, resolve=True),
    )


def build_trainer(cfg: DictConfig, **overrides: Any) -> pl.Trainer:
    """The `trainer` config with the `callbacks` and `logger` configs' objects, as `asrlab-train`
    runs it; `overrides` replace trainer arguments (e.g. `max_steps=10`)."""
    callbacks = [instantiate(c) for c in cfg.callbacks.values()]
    return instantiate(cfg.trainer, callbacks=callbacks, logger=build_loggers(cfg), **overrides)


def build_loggers(cfg: DictConfig) -> list[Logger]:
    """The `logger` config's loggers; one whose package is not installed is refused, naming it."""
    for name, logger in cfg.logger.items():
        package = EXTRA_LOGGERS.get(logger.get("_target_"))
        if package and importlib.util.find_spec(package) is None:
            raise ModuleNotFoundError(
                f"logger.{name} needs the {package} package, which is not installed: "
                'pip install -e ".[loggers]"'
            )
    return [instantiate(c) for c in cfg.logger.values()]


def build_datamodule(cfg: DictConfig, tokenizer: Tokenizer) -> ASRDataModule:
    """The data module, batching by the frames of the `features` frontend; with
    `data.cache=true`, one that serves that frontend's cached features."""
    frontend = instantiate(cfg.features)
    data = cfg.data.copy()
    with open_dict(data):
        data.pop("hop_ms", None)  # what runs trained before `frames_of` batched by
        data.pop("source")
    datamodule = instantiate(
        data,
        source=build_source(cfg.data.source),
        tokenizer=tokenizer,
        frames_of=frontend.output_frames,
    )
    if cfg.data.cache:
        if cfg.augment.waveform:
            raise ValueError(
                "data.cache=true serves precomputed features, so waveform augmentation "
                f"({', '.join(cfg.augment.waveform)}) cannot apply: use data.cache=false or drop it"
            )
        config = OmegaConf.to_container(cfg.features, resolve=True)
        datamodule.cache_features_of(frontend, config)
    return datamodule
