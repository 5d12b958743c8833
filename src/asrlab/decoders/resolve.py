"""The one place a `decoder` config gets the parts fitted to data that it names.

A decoder config may ask for an n-gram LM of the training transcripts (`lm: train`). Training
estimates it into the run folder (`fit_lm`); everything that decodes a trained run afterwards
(asrlab-eval, -decode, -transcribe, -export, loading a checkpoint) goes through `for_trained_run`,
which takes the run folder's lm.arpa when training estimated the LM asked for, and otherwise
builds it once from the run's training transcripts into a cache (RUN/logprobs by default). A
decoder config's other LM must be a file that exists. Nothing else builds decoder parts.
"""

import logging
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from asrlab.data.source import training_manifest, training_texts
from asrlab.decoders.lm import build_arpa
from asrlab.storage import content_key, file_key, write_once

log = logging.getLogger(__name__)

# decoder.lm's value for "an n-gram LM estimated from this run's training transcripts".
LM_FROM_TRAINING = "train"
# The LM training estimates, in its run folder.
RUN_LM = "lm.arpa"


class DecoderConfigError(ValueError):
    """A decoder config that names a part which cannot be had, with what to give instead."""


def resolve(decoder: DictConfig, key: str, fitted_lm: Callable[[], Path]) -> DictConfig:
    """`decoder` with its parts in place: `lm: train` becomes the file `fitted_lm()` gives (called
    only then); any other `lm` must be an existing file (else `DecoderConfigError` naming
    `key`, the config key of the decoder, e.g. `decoders.beam_lm`)."""
    lm = decoder.get("lm")
    if lm == LM_FROM_TRAINING:
        return OmegaConf.merge(decoder, {"lm": str(fitted_lm())})
    if lm and not Path(lm).is_file():
        raise DecoderConfigError(f"{key}.lm={lm}: no such file (asrlab-lm builds an ARPA LM)")
    return decoder


def fit_lm(texts: list[str], path: Path, lm: DictConfig) -> Path:
    """Estimates the `lm` config's n-gram model (`order`, `unit`) of `texts` into `path`."""
    model = build_arpa(texts, path, order=lm.order, unit=lm.unit)
    log.info("%s-gram %s LM of the training transcripts: %s", model.order, lm.unit, path)
    return path


def for_trained_run(
    decoder: DictConfig,
    key: str,
    checkpoint: Path,
    run_cfg: DictConfig,
    lm: DictConfig | None = None,
    cache_dir: Path | None = None,
) -> DictConfig:
    """`resolve` for a decoder of the trained run of `checkpoint` (RUN/checkpoints/X.ckpt), whose
    config is `run_cfg`: `lm: train` is the `lm` config's LM (default: the run's own), the run
    folder's lm.arpa when training estimated that one, else built once into `cache_dir`
    (default RUN/logprobs)."""
    run_dir = checkpoint.parent.parent
    lm = lm if lm is not None else run_cfg.lm
    cache_dir = cache_dir or run_dir / "logprobs"
    return resolve(decoder, key, lambda: _trained_run_lm(run_dir, run_cfg, lm, cache_dir))


def _trained_run_lm(run_dir: Path, run_cfg: DictConfig, lm: DictConfig, cache_dir: Path) -> Path:
    own, trained = run_dir / RUN_LM, run_cfg.get("lm") or {}
    if own.is_file() and (trained.get("order"), trained.get("unit")) == (lm.order, lm.unit):
        return own
    manifest = training_manifest(run_cfg)
    key = content_key({"manifest": file_key(manifest), "order": lm.order, "unit": lm.unit}, 16)
    path = cache_dir / f"lm-{key}.arpa"
    write_once(path, lambda temporary: fit_lm(training_texts(run_cfg), temporary, lm))
    return path
