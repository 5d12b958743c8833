"""asrlab-data: scan the manifests training would read; report bad files, write clean manifests.

Writes report.md, report.json and clean/<split>.jsonl into the run folder. Bad files do not fail
the command (it is a report); a data source that cannot be prepared or parsed does.
"""

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import hydra
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, MissingMandatoryValue, OmegaConf

from asrlab.build import build_tokenizer
from asrlab.data.manifest import ManifestError, read_manifest
from asrlab.data.scan import ScanOptions, build_report, scan, write_outputs
from asrlab.data.tokenizer import Tokenizer

log = logging.getLogger(__name__)


def _fail(message: str) -> NoReturn:
    log.error(message)
    raise SystemExit(1)


def _manifests(source: DictConfig, splits: Sequence[str]) -> dict[str, Path]:
    """Prepare the data source as training would; the manifest of each split to scan."""
    try:
        manifests = instantiate(source).prepare()
    except (
        InstantiationException,
        MissingMandatoryValue,
        ValueError,
        OSError,
        RuntimeError,
    ) as err:
        _fail(f"cannot prepare data.source ({source._target_}): {err}")
    if missing := [split for split in splits if split not in manifests]:
        _fail(f"scan.splits {missing} are not among the source's splits {sorted(manifests)}")
    return {split: Path(manifests[split]).resolve() for split in splits}


def _tokenizer(cfg: DictConfig, manifests: dict[str, Path]) -> Tokenizer:
    """The configured tokenizer; a BPE one learns its pieces from the train split, as a
    training run would."""

    def train_texts() -> list[str]:
        if "train" not in manifests:
            _fail("tokenizer=bpe learns its pieces from the train split: add it to scan.splits")
        return [utterance.text for utterance in read_manifest(manifests["train"])]

    return build_tokenizer(cfg, train_texts)


@hydra.main(version_base="1.3", config_path="conf", config_name="scan")
def main(cfg: DictConfig) -> None:
    out_dir = Path(cfg.paths.output_dir)
    options = ScanOptions(**OmegaConf.to_container(cfg.scan, resolve=True))
    manifests = _manifests(cfg.data.source, options.splits)
    try:
        tokenizer = _tokenizer(cfg, manifests)
        scans = scan(manifests, tokenizer, options)
    except ManifestError as err:
        _fail(str(err))
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
