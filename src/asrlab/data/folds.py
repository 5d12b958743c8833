"""Leave-one-speaker-out folds of any speaker-labelled source (`data.source.folds=speaker`).

The source's utterances, all its splits together, are split again by their `speaker` field:
fold K holds out the K-th speaker (speakers sorted, as found in the data) as test, the next one
in that order (the first after the last) as validation, and trains on every other speaker. A
speaker added to the data adds a fold. A mix folds its `eval_source`, the one it validates and
tests on; its other sources only train.
"""

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from asrlab.data.datasets.cache import SPLITS, DatasetError
from asrlab.data.manifest import write_manifest
from asrlab.storage import content_key, write_atomically

if TYPE_CHECKING:
    from asrlab.data.source import Source

log = logging.getLogger(__name__)

FOLD_KEYS = ("folds", "fold", "test_speaker", "fold_manifest_dir")
ALL = "all"
"""`data.source.fold=all`: one trial per fold, in a multirun (asrlab.training.fold_sweep)."""


class Fold(NamedTuple):
    """Which speakers a fold holds out, among all `speakers` (sorted)."""

    index: int
    test_speaker: str
    val_speaker: str
    speakers: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        """What a run folder records of it."""
        return {
            "fold": self.index,
            "test_speaker": self.test_speaker,
            "val_speaker": self.val_speaker,
            "speakers": list(self.speakers),
        }


def choose_fold(speakers: list[str], fold: int | None, test_speaker: str | None) -> Fold:
    """Fold `fold` (or the one testing `test_speaker`) of `speakers`; DatasetError naming the
    speakers found when it does not exist."""
    found = f"{len(speakers)} speaker(s) found: {', '.join(speakers) or 'none'}"
    if len(speakers) < 3:
        raise DatasetError(
            f"data.source.folds=speaker needs 3 speakers or more (test, validation, training); "
            f"{found}"
        )
    if (fold is None) == (test_speaker is None):
        raise DatasetError(
            f"data.source.folds=speaker needs one of data.source.fold=K (0-{len(speakers) - 1}) "
            f"or data.source.test_speaker=NAME; {found}"
        )
    if test_speaker is not None:
        if test_speaker not in speakers:
            raise DatasetError(
                f"data.source.test_speaker={test_speaker} is not in the data; {found}"
            )
        fold = speakers.index(test_speaker)
    if fold == ALL:
        raise DatasetError(
            f"data.source.fold=all trains one run per fold: start a multirun (asrlab-train -m); "
            f"{found}"
        )
    if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < len(speakers):
        raise DatasetError(
            f"data.source.fold={fold} is not a fold: folds are 0-{len(speakers) - 1}, one per "
            f"speaker; {found}"
        )
    return Fold(fold, speakers[fold], speakers[(fold + 1) % len(speakers)], tuple(speakers))


def _speaker_rows(manifest: Path) -> list[dict]:
    """The manifest's lines, audio paths made absolute; each must name its `speaker`."""
    rows = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            speaker = row.get("speaker")
            audio = Path(row["audio_filepath"])
        except (ValueError, AttributeError, KeyError, TypeError) as err:
            raise DatasetError(f"{manifest}:{number}: not a manifest line ({err})") from err
        if not isinstance(speaker, str | int) or speaker == "":
            raise DatasetError(
                f"{manifest}:{number}: no `speaker` field; data.source.folds=speaker needs one "
                "on every line"
            )
        rows.append(
            {**row, "speaker": str(speaker), "audio_filepath": str(manifest.parent / audio)}
        )
    return rows


class SpeakerFolds:
    """`source`'s utterances in one leave-one-speaker-out fold (`fold`, or the fold testing
    `test_speaker`); the fold's manifests go to `manifest_dir/folds-<hash>/`."""

    def __init__(
        self,
        source: "Source",
        manifest_dir: str,
        fold: int | str | None = None,
        test_speaker: str | None = None,
    ) -> None:
        self.source = source
        self.manifest_dir = Path(manifest_dir).expanduser()
        self.fold_option = fold
        self.test_speaker = test_speaker
        self.fold: Fold | None = None
        """Set by `prepare()`."""

    def held_out(self) -> Fold:
        """The fold's speakers (preparing the manifests if not yet)."""
        if self.fold is None:
            self.prepare()
        assert self.fold is not None
        return self.fold

    def rows(self) -> list[dict]:
        """Every utterance of the source (each manifest once), sorted by speaker."""
        manifests = dict.fromkeys(Path(path) for path in self.source.prepare().values())
        rows = [row for manifest in manifests for row in _speaker_rows(manifest)]
        return sorted(rows, key=lambda row: row["speaker"])

    def speakers(self, rows: list[dict] | None = None) -> list[str]:
        """The speakers of the source, sorted: fold K tests the K-th."""
        return sorted({row["speaker"] for row in (self.rows() if rows is None else rows)})

    def prepare(self) -> dict[str, Path]:
        rows, first = self.rows(), self.fold is None
        self.fold = choose_fold(self.speakers(rows), self.fold_option, self.test_speaker)
        split_of = {self.fold.test_speaker: "test", self.fold.val_speaker: "val"}
        splits: dict[str, list[dict]] = {split: [] for split in SPLITS}
        for row in rows:
            splits[split_of.get(row["speaker"], "train")].append(row)
        key = content_key({"fold": self.fold.record(), "splits": splits}, 10)
        folder = self.manifest_dir / f"folds-{key}"
        paths = {split: folder / f"{split}.jsonl" for split in SPLITS}
        for split, path in paths.items():
            if not path.is_file():
                lines = splits[split]
                write_atomically(
                    path, lambda temporary, lines=lines: write_manifest(temporary, lines)
                )
        if first:
            log.info(
                "speaker fold %d of %d: test %s, validation %s, %d training speakers "
                "(utterances: %s) in %s",
                self.fold.index,
                len(self.fold.speakers),
                self.fold.test_speaker,
                self.fold.val_speaker,
                len(self.fold.speakers) - 2,
                ", ".join(f"{split} {len(lines)}" for split, lines in splits.items()),
                folder,
            )
        return paths


def fold_of(source: "Source") -> Fold | None:
    """The fold a source holds out: its own, or its mix's eval source's; else None."""
    if isinstance(source, SpeakerFolds):
        return source.held_out()
    sources, eval_source = getattr(source, "sources", None), getattr(source, "eval_source", None)
    return fold_of(sources[eval_source]) if sources and eval_source in sources else None


def split_options(config: DictConfig) -> tuple[DictConfig, dict[str, Any]]:
    """A `data.source` config without the fold options, and those options."""
    config = config.copy()
    with open_dict(config):
        options = {key: config.pop(key, None) for key in FOLD_KEYS}
    return config, options


def speakers_of(config: DictConfig) -> list[str]:
    """The speakers a `data.source` config's folds are drawn from, sorted."""
    config, _ = split_options(config)
    if "eval_source" in config:
        config = config.sources[config.eval_source]
    return SpeakerFolds(instantiate(config), "").speakers()


def build_source(config: DictConfig) -> "Source":
    """The source of a `data.source` config; with `folds: speaker`, in that fold."""
    config, options = split_options(config)
    folds = options["folds"]
    if folds is None:
        if set_keys := [key for key in ("fold", "test_speaker") if options[key] is not None]:
            raise DatasetError(f"data.source.{set_keys[0]} needs data.source.folds=speaker")
        return instantiate(config)
    if folds != "speaker":
        raise DatasetError(f"data.source.folds must be speaker or null, got {folds!r}")
    if not options["fold_manifest_dir"]:
        raise DatasetError("data.source.folds=speaker needs data.source.fold_manifest_dir")

    def folded(source: "Source") -> SpeakerFolds:
        return SpeakerFolds(
            source, options["fold_manifest_dir"], options["fold"], options["test_speaker"]
        )

    if "eval_source" not in config:
        return folded(instantiate(config))
    with open_dict(config):
        sources = {name: instantiate(sub) for name, sub in config.pop("sources").items()}
    if config.eval_source in sources:  # else Mix names the mistake
        sources[config.eval_source] = folded(sources[config.eval_source])
    return instantiate(config, sources=sources)
