"""A checkpoint's log-probs on a split, and n-gram LMs of training transcripts, computed once.

For decode-only sweeps: every trial after the first loads what the first computed. Layout, in
the cache folder (by default RUN/logprobs/ beside the checkpoint's run):

    <split>-<key>.pt      a saved `Posteriors`
    <split>-<key>.json    what the key covers, for people
    lm-<key>.arpa         an n-gram LM of the training transcripts
    *.lock                flock'ed while the file of the same name is computed

The log-probs' key hashes the checkpoint file and the split's manifest (each by absolute path,
size and mtime_ns: a rewritten file gets a new key), the split and the data config. The LM's key
hashes the training manifest, the order and the unit. A file is computed under an exclusive lock
and written to a temporary file renamed into place: concurrent trials compute it once, and none
reads a half-written file.
"""

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from asrlab.build import LM_FROM_TRAINING, training_texts
from asrlab.data.datasets.cache import write_atomically
from asrlab.data.feature_cache import file_key, locked
from asrlab.decoders.lm import Unit, build_arpa
from asrlab.posteriors import Posteriors

log = logging.getLogger(__name__)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def _compute_once(path: Path, write: Callable[[Path], object]) -> bool:
    """Writes `path` with `write(temporary)` unless it exists; True when this call wrote it."""
    if path.is_file():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.with_name(f"{path.name}.lock")):
        if path.is_file():  # another process computed it while this one waited
            return False
        write_atomically(path, write)
        return True


def cached_posteriors(
    cache_dir: Path,
    checkpoint: Path,
    split: str,
    train_cfg: DictConfig,
    compute: Callable[[], Posteriors],
) -> tuple[Posteriors, Path, bool]:
    """The log-probs of `checkpoint` (whose run's config is `train_cfg`) on `split`: loaded from
    the cache, or computed with `compute()` and stored. Returns them, their file, and whether this
    call computed them."""
    manifest = instantiate(train_cfg.data.source).prepare()[split]
    covered = {
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_key": file_key(checkpoint),
        "split": split,
        "manifest": str(manifest.resolve()),
        "manifest_key": file_key(manifest),
        "data": OmegaConf.to_container(train_cfg.data, resolve=True),
    }
    path = cache_dir / f"{split}-{_digest(covered)}.pt"

    def write(temporary: Path) -> None:
        posteriors = compute()
        text = json.dumps(covered, indent=2) + "\n"
        write_atomically(path.with_suffix(".json"), lambda json_file: json_file.write_text(text))
        posteriors.save(temporary)

    computed = _compute_once(path, write)
    if computed:
        log.info("computed the %s log-probs of %s into %s", split, checkpoint, path)
    else:
        log.info("reusing the %s log-probs of %s from %s", split, checkpoint, path)
    return Posteriors.load(path), path, computed


def cached_training_lm(cache_dir: Path, train_cfg: DictConfig, order: int, unit: Unit) -> Path:
    """The ARPA file of the `order`-gram `unit` LM of the run's training transcripts (as
    `decoder.lm: train` estimates it in training), built unless cached."""
    manifest = instantiate(train_cfg.data.source).prepare()["train"]
    key = _digest({"manifest": file_key(manifest), "order": order, "unit": unit})
    path = cache_dir / f"lm-{key}.arpa"

    def write(temporary: Path) -> None:
        build_arpa(training_texts(train_cfg), temporary, order=order, unit=unit)

    if _compute_once(path, write):
        log.info("%s-gram %s LM of the training transcripts: %s", order, unit, path)
    return path


def run_cache_dir(checkpoint: Path) -> Path:
    """The default cache of a checkpoint in a run folder (RUN/checkpoints/X.ckpt): RUN/logprobs."""
    return checkpoint.parent.parent / "logprobs"


def training_lm(
    run_dir: Path, run_cfg: DictConfig, cache_dir: Path, order: int, unit: Unit
) -> Path:
    """The LM that `decoder.lm: train` means for a trained run (asrlab-decode and asrlab-eval
    alike): the run folder's lm.arpa when training estimated this LM (the run's `lm` order and
    unit), else the `order`-gram `unit` LM of its training transcripts, built once into
    `cache_dir` (`cached_training_lm`)."""
    own, trained = run_dir / "lm.arpa", run_cfg.get("lm") or {}
    if own.is_file() and (trained.get("order"), trained.get("unit")) == (order, unit):
        return own
    return cached_training_lm(cache_dir, run_cfg, order, unit)


def with_training_lm(decoder: DictConfig, checkpoint: Path, run_cfg: DictConfig) -> DictConfig:
    """`decoder`, with an LM of the training transcripts (`lm: train`) made the file of
    `training_lm` for the run's own `lm` order and unit, cached in RUN/logprobs (asrlab-eval and
    asrlab-transcribe)."""
    if decoder.get("lm") != LM_FROM_TRAINING:
        return decoder
    order, unit = run_cfg.lm.order, run_cfg.lm.unit
    lm = training_lm(checkpoint.parent.parent, run_cfg, run_cache_dir(checkpoint), order, unit)
    return OmegaConf.merge(decoder, {"lm": str(lm)})
