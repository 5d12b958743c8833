"""Builds the model from a composed config; shared by training and later by eval and export."""

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from asrlab.data.datamodule import ASRDataModule
from asrlab.data.tokenizer import CharTokenizer
from asrlab.features.augment import Compose
from asrlab.module import ASRModel


def build_augment(stage: DictConfig) -> Compose:
    """One augment stage (`augment.waveform` or `augment.features`): its transforms in order."""
    return Compose([instantiate(transform) for transform in stage.values()])


def build_model(cfg: DictConfig, tokenizer: CharTokenizer) -> ASRModel:
    return ASRModel(
        frontend=instantiate(cfg.features),
        wave_augment=build_augment(cfg.augment.waveform),
        augment=build_augment(cfg.augment.features),
        encoder=instantiate(cfg.encoder),
        tokenizer=tokenizer,
        decoder=instantiate(cfg.decoder, tokenizer=tokenizer),
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler),
        config=OmegaConf.to_container(cfg, resolve=True),
    )


def build_datamodule(cfg: DictConfig, tokenizer: CharTokenizer) -> ASRDataModule:
    """The data module; with `data.cache=true`, one that serves the frontend's cached features."""
    datamodule = instantiate(cfg.data, tokenizer=tokenizer)
    if cfg.data.cache:
        if cfg.augment.waveform:
            raise ValueError(
                "data.cache=true serves precomputed features, so waveform augmentation "
                f"({', '.join(cfg.augment.waveform)}) cannot apply: use data.cache=false or drop it"
            )
        config = OmegaConf.to_container(cfg.features, resolve=True)
        datamodule.cache_features_of(instantiate(cfg.features), config)
    return datamodule
