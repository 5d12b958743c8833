"""Mixing sources: train on several datasets with sampling weights, evaluate on one of them."""

import json
import logging
from pathlib import Path

import numpy as np

from asrlab.data.datasets.cache import DatasetError
from asrlab.data.source import Source
from asrlab.storage import content_key, digest, write_atomically

log = logging.getLogger(__name__)


def _absolute_lines(manifest: Path, source: str) -> list[dict]:
    """The manifest's entries with absolute audio paths, tagged with their source's name."""
    entries = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            audio = Path(entry["audio_filepath"])
            entry["audio_filepath"] = str(audio if audio.is_absolute() else manifest.parent / audio)
            entries.append({**entry, "source": source})
    return entries


def _weighted(entries: list[dict], weight: float, rng: np.random.Generator) -> list[dict]:
    """`weight` copies of the entries: whole copies, plus a random share for the fraction."""
    whole, fraction = divmod(weight, 1.0)
    extra = rng.choice(len(entries), size=round(fraction * len(entries)), replace=False)
    return entries * int(whole) + [entries[i] for i in sorted(extra)]


class Mix:
    """A training set drawn from several sources; val and test come from `eval_source`.

    `weights[name]` scales how often a source's training utterances occur per epoch: 1 is
    each once, 2 twice, 0.5 a random half (fixed for the run by `seed`). The mixed training
    manifest is written to `manifest_dir/mix-<hash>/train.jsonl`.
    """

    def __init__(
        self,
        sources: dict[str, Source],
        eval_source: str,
        manifest_dir: str,
        weights: dict[str, float] | None = None,
        seed: int = 0,
    ) -> None:
        weights = dict(weights or {})
        unknown = (set(weights) | {eval_source}) - set(sources)
        if unknown:
            raise DatasetError(
                f"data.source: {sorted(unknown)} named in weights or eval_source are not among "
                f"the sources {sorted(sources)}"
            )
        if any(w < 0 for w in weights.values()) or not any(
            weights.get(name, 1.0) > 0 for name in sources
        ):
            raise DatasetError(f"data.source.weights must be >= 0 and not all 0, got {weights}")
        self.sources = sources
        self.eval_source = eval_source
        self.manifest_dir = Path(manifest_dir)
        self.weights = {name: float(weights.get(name, 1.0)) for name in sources}
        self.seed = seed

    def prepare(self) -> dict[str, Path]:
        manifests = {name: source.prepare() for name, source in self.sources.items()}
        key = content_key(
            {
                "weights": self.weights,
                "seed": self.seed,
                "train": {n: digest(m["train"].read_bytes()) for n, m in manifests.items()},
            },
            10,
        )
        folder = self.manifest_dir / f"mix-{key}"
        train = folder / "train.jsonl"
        if not train.is_file():
            rng = np.random.default_rng(self.seed)
            entries = []
            for name, weight in self.weights.items():
                mixed = _weighted(_absolute_lines(manifests[name]["train"], name), weight, rng)
                log.info(
                    "mix: %d training utterances from %s (weight %g)", len(mixed), name, weight
                )
                entries += mixed
            text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
            write_atomically(train, lambda path: path.write_text(text, encoding="utf-8"))
        return {"train": train, **{s: manifests[self.eval_source][s] for s in ("val", "test")}}
