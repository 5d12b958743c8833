"""`data=lhotse`'s source: one Lhotse CutSet per split, and a JSONL transcript view of each."""

import hashlib
from collections.abc import Mapping
from pathlib import Path

from lhotse import CutSet
from omegaconf import DictConfig, OmegaConf

from asrlab.data.lhotse.cuts import (
    CutsSpec,
    open_cuts,
    shar_cuts,
    shar_fields,
    speaker,
    transcript,
)
from asrlab.data.manifest import write_manifest

SPLITS = ("train", "val", "test")


class LhotseCuts:
    """Cuts manifests or Shar folders per split; `prepare()` writes each split's transcript view
    (`audio_filepath` is the cut id, with duration, text and speaker) for what reads transcripts
    only: the tokenizer, the LM and the pre-flight."""

    def __init__(
        self,
        train: CutsSpec | DictConfig,
        val: CutsSpec | DictConfig,
        test: CutsSpec | DictConfig,
        manifest_dir: str,
        lazy: bool = False,
    ) -> None:
        self.specs = {
            split: OmegaConf.to_container(spec) if isinstance(spec, DictConfig) else spec
            for split, spec in zip(SPLITS, (train, val, test), strict=True)
        }
        self.manifest_dir = Path(manifest_dir)
        self.lazy = lazy
        self._views: dict[str, Path] | None = None
        self._shards: dict[str, dict[str, list[str]]] = {}

    def cuts(self, split: str, audio: bool = True) -> CutSet:
        """The split's cuts (streamed when `lazy` or from Shar); `audio=False`: metadata only."""
        if (fields := self.shards(split)) is not None:
            return shar_cuts(fields, audio)
        return open_cuts(self.specs[split], lazy=self.lazy or not audio, audio=audio)

    def shards(self, split: str) -> dict[str, list[str]] | None:
        """Each field's shard files if the split is a Shar folder (checked the first time:
        `shar_fields`), else None."""
        spec = self.specs[split]
        if isinstance(spec, Mapping) or not Path(spec).is_dir():
            return None
        if split not in self._shards:
            self._shards[split] = shar_fields(Path(spec))
        return self._shards[split]

    def prepare(self) -> dict[str, Path]:
        if self._views is None:
            self._views = {split: self._view(split) for split in SPLITS}
        return dict(self._views)

    def _view(self, split: str) -> Path:
        key = hashlib.sha256(repr(self.specs[split]).encode()).hexdigest()[:12]
        entries = (
            {
                "audio_filepath": cut.id,
                "duration": cut.duration,
                "text": transcript(cut),
                "speaker": speaker(cut),
            }
            for cut in self.cuts(split, audio=False)
        )
        return write_manifest(self.manifest_dir / f"lhotse-{split}-{key}.jsonl", entries)
