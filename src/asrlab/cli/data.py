"""asrlab-data: scan the manifests training would read; report bad files, write clean manifests.

Writes report.md, report.json and clean/<split>.jsonl into the run folder. Bad files do not fail
the command (it is a report); a data source that cannot be prepared or parsed does.
"""

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from asrlab.data.manifest import ManifestError
from asrlab.data.scan import ScanOptions, build_report, scan, write_outputs
from asrlab.tools.diagnose.inputs import fail, prepared_manifests, scan_tokenizer

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../conf", config_name="scan")
def main(cfg: DictConfig) -> None:
    out_dir = Path(cfg.paths.output_dir)
    options = ScanOptions(**OmegaConf.to_container(cfg.scan, resolve=True))
    manifests = prepared_manifests(cfg.data.source, options.splits)
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


if __name__ == "__main__":
    main()
