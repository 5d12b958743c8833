"""`asrlab-data shard`: the splits of any data option as Lhotse cuts manifests and Shar shards."""

import logging
from pathlib import Path

from omegaconf import DictConfig

from asrlab.data.lhotse.from_manifest import manifest_cuts
from asrlab.data.lhotse.write import refuse_existing, write_split
from asrlab.data.manifest import Problem, describe
from asrlab.tools.diagnose.inputs import fail, is_lhotse, prepared_manifests

log = logging.getLogger(__name__)


def shard(cfg: DictConfig) -> dict[str, int]:
    """Writes each of `shard.splits` of `data.source` under `shard.out` (refusing to overwrite
    what is there); a bad line stops it or, with data.on_error=skip, is logged and left out.
    Returns the cuts written per split."""
    if is_lhotse(cfg.data.source):
        fail("asrlab-data shard: data=lhotse is Lhotse cuts already; train on them as they are")
    options = cfg.shard
    out = Path(options.out)
    refuse_existing(out, options.splits)
    counts = {}
    splits = prepared_manifests(cfg.data.source, options.splits, "shard.splits")
    for split, manifest in splits.items():
        skipped: list[Problem] | None = [] if cfg.data.on_error == "skip" else None
        cuts = manifest_cuts(manifest, skipped)
        counts[split] = write_split(
            cuts, out, split, options.shard_size, options.shar, options.audio_format
        )
        if skipped:
            log.warning("%s: skipped %s", split, describe(skipped))
    return counts
