"""What asrlab-data and asrlab-doctor read, as training would: the data source's manifests and
the tokenizer; a problem ends the command with one logged line (exit status 1)."""

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from hydra.errors import InstantiationException
from omegaconf import DictConfig, MissingMandatoryValue

from asrlab.data.folds import build_source
from asrlab.data.manifest import read_manifest
from asrlab.model.build import build_tokenizer
from asrlab.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)


def fail(message: str) -> NoReturn:
    log.error(message)
    raise SystemExit(1)


def is_lhotse(source: DictConfig) -> bool:
    """Whether `source` is data=lhotse's, whose transcript manifests list cut ids, not files."""
    return source.get("_target_") == "asrlab.data.lhotse.source.LhotseCuts"


def prepared_manifests(source: DictConfig, splits: Sequence[str], key: str) -> dict[str, Path]:
    """Prepare the data source as training would; the manifest of each of `splits` (the config
    key `key`, named when a split is not the source's)."""
    try:
        manifests = build_source(source).prepare()
    except (
        InstantiationException,
        MissingMandatoryValue,
        ValueError,
        OSError,
        RuntimeError,
    ) as err:
        fail(f"cannot prepare data.source ({source._target_}): {err}")
    if missing := [split for split in splits if split not in manifests]:
        fail(f"{key} {missing} are not among the source's splits {sorted(manifests)}")
    return {split: Path(manifests[split]).resolve() for split in splits}


def scan_tokenizer(cfg: DictConfig, manifests: dict[str, Path]) -> Tokenizer:
    """The configured tokenizer; a BPE one learns its pieces from the train split, as a
    training run would."""

    def train_texts() -> list[str]:
        if "train" not in manifests:
            fail("tokenizer=bpe learns its pieces from the train split: add it to scan.splits")
        return [utterance.text for utterance in read_manifest(manifests["train"])]

    return build_tokenizer(cfg, train_texts)
