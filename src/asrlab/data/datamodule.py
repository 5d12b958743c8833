"""LightningDataModule: a source's manifests -> checked datasets -> length-bucketed Batches."""

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from asrlab.data.collate import collate
from asrlab.data.dataset import Example, SpeechDataset
from asrlab.data.feature_cache import CachedFeatureDataset, FeatureCache
from asrlab.data.loader import ResumableLoader
from asrlab.data.manifest import (
    ManifestError,
    Problem,
    describe,
    find_problems,
    read_manifest,
)
from asrlab.data.sampler import BucketBatchSampler
from asrlab.data.source import Source
from asrlab.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


class ASRDataModule(pl.LightningDataModule):
    """Checks every manifest line before training; bad lines stop the run or are skipped.

    Batches are bucketed by length: at most `max_frames_per_batch` padded feature frames
    (`frames_of` (N,) samples -> (N,) frames: the frontend's `output_frames`, counted from the
    manifest's durations) and at most `batch_size` utterances each. With `on_error="skip"`, bad
    lines are left out up front, counted, logged and listed in `report_dir/skipped.jsonl`.
    With `cache` (`data.cache=true`) and a frontend given by `cache_features_of`, datasets
    yield features (T, F) computed once into shards under `cache_dir`, instead of waveforms,
    and batches carry (B, T, F) features.
    """

    def __init__(
        self,
        source: Source,
        tokenizer: Tokenizer,
        frames_of: Callable[[Tensor], Tensor],
        sample_rate: int = 16000,
        batch_size: int | None = 32,
        eval_batch_size: int = 64,
        max_frames_per_batch: int | None = None,
        num_buckets: int = 20,
        num_workers: int = 0,
        on_error: str = "raise",
        check_audio: bool = True,
        duration_tolerance: float = 0.1,
        report_dir: str | None = None,
        seed: int = 0,
        cache: bool = False,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__()
        if on_error not in ("raise", "skip"):
            raise ValueError(f"data.on_error must be 'raise' or 'skip', got {on_error!r}")
        self.source = source
        self.tokenizer = tokenizer
        self.frames_of = frames_of
        self.sample_rate = sample_rate
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.max_frames_per_batch = max_frames_per_batch
        self.num_buckets = num_buckets
        self.num_workers = num_workers
        self.on_error = on_error
        self.check_audio = check_audio
        self.duration_tolerance = duration_tolerance
        self.report_dir = Path(report_dir) if report_dir else None
        self.seed = seed
        self.cache = cache
        self.cache_dir = cache_dir
        self.feature_cache: FeatureCache | None = None
        self.datasets: dict[str, SpeechDataset | CachedFeatureDataset] = {}
        self.skipped: dict[str, int] = {}

    def cache_features_of(self, frontend: nn.Module, config: dict) -> None:
        """With cache=true: the frontend whose output is cached, and its config (the key)."""
        if not self.cache_dir:
            raise ValueError("data.cache=true needs data.cache_dir")
        self.feature_cache = FeatureCache(self.cache_dir, frontend, config, self.sample_rate)

    def prepare_data(self) -> None:
        self.source.prepare()

    def setup(self, stage: str | None = None) -> None:
        manifests = self.source.prepare()
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}
        for split in wanted.get(stage, SPLITS) if stage else SPLITS:
            if split not in self.datasets:
                self.datasets[split] = self._load(split, manifests[split])

    def _load(self, split: str, manifest: Path) -> SpeechDataset | CachedFeatureDataset:
        malformed: list[Problem] | None = [] if self.on_error == "skip" else None
        utterances = read_manifest(manifest, malformed)
        problems = (malformed or []) + find_problems(
            utterances, self.tokenizer, self.check_audio, self.duration_tolerance
        )
        if problems and self.on_error == "raise":
            raise ManifestError(
                describe(problems) + "\n(data.on_error=skip leaves such lines out instead)"
            )
        if problems:
            bad = {p.index for p in problems}
            utterances = [u for i, u in enumerate(utterances) if i not in bad]
            self.skipped[split] = len(problems)
            log.warning("%s: skipping %d bad line(s) of %s", split, len(problems), manifest)
            self._report(split, problems)
        if not utterances:
            raise ManifestError(f"no usable utterances left in {manifest}")
        if self.cache:
            if self.feature_cache is None:
                raise RuntimeError("data.cache=true: call cache_features_of(frontend, config)")
            features = self.feature_cache.prepare(utterances)
            return CachedFeatureDataset(utterances, self.tokenizer, features)
        return SpeechDataset(utterances, self.tokenizer, self.sample_rate)

    def _report(self, split: str, problems: list[Problem]) -> None:
        if self.report_dir is None:
            return
        self.report_dir.mkdir(parents=True, exist_ok=True)
        with (self.report_dir / "skipped.jsonl").open("a", encoding="utf-8") as f:
            for p in problems:
                f.write(json.dumps({"split": split, "where": p.where, "problem": p.message}) + "\n")

    def _frames(self, split: str) -> np.ndarray:
        """Feature frames of each utterance, from the manifest's durations."""
        seconds = np.array([u.duration for u in self.datasets[split].utterances])
        samples = torch.from_numpy(np.round(seconds * self.sample_rate).astype(np.int64))
        return self.frames_of(samples).numpy()

    def _loader(self, split: str, train: bool) -> ResumableLoader:
        """Training: shuffled buckets, at least ~4 batches each. Eval: sorted by length."""
        size = len(self.datasets[split])
        buckets = max(1, min(self.num_buckets, size // (4 * (self.batch_size or 32))))
        sampler = BucketBatchSampler(
            self._frames(split),
            max_frames_per_batch=self.max_frames_per_batch if train else None,
            batch_size=self.batch_size if train else self.eval_batch_size,
            num_buckets=buckets if train else 1,
            shuffle=train,
            seed=self.seed,
        )
        return ResumableLoader(
            self.datasets[split],
            sampler,
            collate_fn=collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> ResumableLoader:
        return self._loader("train", train=True)

    def eval_dataloader(self, split: str) -> ResumableLoader:
        """Any split (after `setup`) in evaluation order: sorted by length, not shuffled."""
        return self._loader(split, train=False)

    def epoch_batches(self, epochs: int) -> list[int] | None:
        """Training batches of each of the first `epochs` epochs, where they vary from epoch to
        epoch (None: they do not, the training loader's length holds for every epoch)."""
        return None

    def val_durations(self) -> list[float]:
        """Seconds of each usable validation utterance (after `setup`), in the order that
        `val_examples` indexes them: what the probe callbacks choose their utterances from."""
        return [u.duration for u in self.datasets["val"].utterances]

    def val_examples(self, indices: Sequence[int]) -> list[Example]:
        """The validation utterances at these indices of `val_durations`, in that order."""
        return [self.datasets["val"][i] for i in indices]

    def val_dataloader(self) -> ResumableLoader:
        return self.eval_dataloader("val")

    def test_dataloader(self) -> ResumableLoader:
        return self.eval_dataloader("test")
