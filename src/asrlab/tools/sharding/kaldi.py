"""`asrlab-data kaldi`: Kaldi data directories as Lhotse cuts manifests (and Shar shards)."""

import logging
from pathlib import Path

from omegaconf import DictConfig

from asrlab.data.lhotse.kaldi import described, kaldi_cuts
from asrlab.data.lhotse.source import SPLITS
from asrlab.data.lhotse.write import refuse_existing, write_split
from asrlab.data.manifest import ManifestError, Problem

log = logging.getLogger(__name__)


def import_kaldi(cfg: DictConfig) -> dict[str, int]:
    """Writes each split given a Kaldi data dir (`kaldi.train`, ...) under `shard.out` as
    `shard` does; a bad entry stops it or, with data.on_error=skip, is logged and left out.
    Returns the cuts written per split."""
    dirs = {split: cfg.kaldi[split] for split in SPLITS if cfg.kaldi[split] is not None}
    if not dirs:
        raise ManifestError("give a Kaldi data dir as kaldi.train (or kaldi.val, kaldi.test)")
    out = Path(cfg.shard.out)
    refuse_existing(out, list(dirs))
    counts = {}
    for split, folder in dirs.items():
        skipped: list[Problem] | None = [] if cfg.data.on_error == "skip" else None
        cuts = kaldi_cuts(Path(folder), cfg.kaldi.sample_rate, skipped)
        counts[split] = write_split(
            cuts, out, split, cfg.shard.shard_size, cfg.shard.shar, cfg.shard.audio_format
        )
        if skipped:
            log.warning("%s: skipped %s", split, described(skipped))
    return counts
