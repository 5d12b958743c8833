"""The generic source: JSONL manifests you already have, one per split."""

from pathlib import Path

from asrlab.data.manifest import ManifestError


class Manifests:
    """Points at existing manifests; `prepare()` only checks that they exist."""

    def __init__(self, train: str, val: str, test: str) -> None:
        self.paths = {"train": Path(train), "val": Path(val), "test": Path(test)}

    def prepare(self) -> dict[str, Path]:
        for split, path in self.paths.items():
            if not path.is_file():
                raise ManifestError(f"data.source.{split}: manifest not found: {path}")
        return dict(self.paths)
