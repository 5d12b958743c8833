"""A checkpoint's head scores on a split (a CTC head's log-probs; any other head's projected
encoder states, which its search reads), computed once.

For decode-only sweeps: every trial after the first loads what the first computed. Layout, in
the cache folder (by default RUN/logprobs/ beside the checkpoint's run):

    <split>-<key>.pt      a saved `Posteriors`
    <split>-<key>.json    what the key covers, for people
    lm-<key>.arpa         an n-gram LM of the training transcripts (asrlab.decoders.resolve)
    *.lock                flock'ed while the file of the same name is computed

The log-probs' key hashes the file format (`posteriors.FORMAT`), the checkpoint file and the
split's manifest (each by absolute path, size and mtime_ns: a rewritten file gets a new key), the
split and the data config. A file is computed under an exclusive lock and written to a temporary
file renamed into place: concurrent trials compute it once, and none reads a half-written file.
"""

import json
import logging
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from asrlab.data.folds import build_source
from asrlab.storage import content_key, file_key, write_atomically, write_once
from asrlab.tools.decoding.posteriors import FORMAT, Posteriors

log = logging.getLogger(__name__)


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
    manifest = build_source(train_cfg.data.source).prepare()[split]
    covered = {
        "format": FORMAT,
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_key": file_key(checkpoint),
        "split": split,
        "manifest": str(manifest.resolve()),
        "manifest_key": file_key(manifest),
        "data": OmegaConf.to_container(train_cfg.data, resolve=True),
    }
    path = cache_dir / f"{split}-{content_key(covered, 16)}.pt"

    def write(temporary: Path) -> None:
        posteriors = compute()
        text = json.dumps(covered, indent=2) + "\n"
        write_atomically(path.with_suffix(".json"), lambda json_file: json_file.write_text(text))
        posteriors.save(temporary)

    computed = write_once(path, write)
    if computed:
        log.info("computed the %s log-probs of %s into %s", split, checkpoint, path)
    else:
        log.info("reusing the %s log-probs of %s from %s", split, checkpoint, path)
    return Posteriors.load(path), path, computed


def run_cache_dir(checkpoint: Path) -> Path:
    """The default cache of a checkpoint in a run folder (RUN/checkpoints/X.ckpt): RUN/logprobs."""
    return checkpoint.parent.parent / "logprobs"
