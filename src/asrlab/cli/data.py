"""asrlab-data: scan the manifests training would read; report bad files, write clean manifests.

Writes report.md, report.json and clean/<split>.jsonl into the run folder. Bad files do not fail
the command (it is a report); a data source that cannot be prepared or parsed does.

`asrlab-data shard ...` writes a data option's splits as Lhotse cuts manifests and Shar shards
(conf/shard.yaml); `asrlab-data kaldi ...` imports Kaldi data directories so (conf/kaldi.yaml).
"""

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from asrlab.data.manifest import ManifestError
from asrlab.data.scan import ScanOptions, build_report, scan, write_outputs
from asrlab.tools.diagnose.inputs import fail, is_lhotse, prepared_manifests, scan_tokenizer
from asrlab.tools.sharding.kaldi import import_kaldi
from asrlab.tools.sharding.shard import shard

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../conf", config_name="scan")
def _scan(cfg: DictConfig) -> None:
    if is_lhotse(cfg.data.source):
        fail(
            "asrlab-data scans the audio files of JSONL manifests; data=lhotse checks each cut "
            "as training reads it (data.on_error), and asrlab-doctor data=lhotse ... reads "
            "the cuts' audio"
        )
    out_dir = Path(cfg.paths.output_dir)
    options = ScanOptions(**OmegaConf.to_container(cfg.scan, resolve=True))
    manifests = prepared_manifests(cfg.data.source, options.splits, "scan.splits")
    try:
        tokenizer = scan_tokenizer(cfg, manifests)
        scans = scan(manifests, tokenizer, options)
    except ManifestError as err:
        fail(str(err))
    write_outputs(scans, build_report(scans, tokenizer, options), out_dir)
    for split in scans:
        stats = split.stats
        log.info(
            "%s: %d lines, %d bad, %d with warnings, %.2f h clean",
            split.split,
            stats.lines,
            stats.bad,
            stats.warned,
            stats.clean_seconds / 3600,
        )
    log.info("report: %s; clean manifests in %s", out_dir / "report.md", out_dir / "clean")


@hydra.main(version_base="1.3", config_path="../conf", config_name="shard")
def _shard(cfg: DictConfig) -> None:
    try:
        counts = shard(cfg)
    except ManifestError as err:
        fail(str(err))
    _log_written(counts, cfg.shard.out)


@hydra.main(version_base="1.3", config_path="../conf", config_name="kaldi")
def _kaldi(cfg: DictConfig) -> None:
    try:
        counts = import_kaldi(cfg)
    except ManifestError as err:
        fail(str(err))
    _log_written(counts, cfg.shard.out)


def _log_written(counts: dict[str, int], out: str) -> None:
    for split, count in counts.items():
        log.info("%s: %d cuts", split, count)
    log.info("written to %s; train with data=lhotse (docs/data.md)", out)


SUBCOMMANDS = {"shard": _shard, "kaldi": _kaldi}


def main() -> None:
    """`asrlab-data [shard|kaldi] OVERRIDES...`: the scan, or the subcommand named first."""
    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
        SUBCOMMANDS[sys.argv.pop(1)]()
    else:
        _scan()


if __name__ == "__main__":
    main()
