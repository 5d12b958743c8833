"""asrlab-doctor: checks a training setup with exactly the training config and overrides.

Writes report.md and report.json into its run folder; exits 1 when a check is fatal.
"""

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from asrlab.cli.quiet import quiet
from asrlab.cli.smoke import shrinkable
from asrlab.tools.diagnose.report import log_findings, write_report
from asrlab.tools.diagnose.run import diagnose
from asrlab.training.preflight.findings import worst
from asrlab.training.threads import set_threads

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../conf", config_name="doctor")
def _main(cfg: DictConfig) -> None:
    quiet()
    set_threads(cfg.threads)
    findings = diagnose(cfg)
    log_findings(findings, cfg.doctor.max_listed)
    report = write_report(findings, Path(cfg.paths.output_dir), cfg.doctor.max_listed)
    status = worst(findings)
    log.info("doctor: %s; report: %s", status, report)
    if status == "fatal":
        raise SystemExit(1)


# The console script; ASRLAB_SMOKE=1 makes it a smoke run (asrlab.cli.smoke).
main = shrinkable(_main, training=True)

if __name__ == "__main__":
    main()
