"""Can the data module take a huge manifest? 1,000,000 entries: ready to iterate in < 30 s,
with < 1 GiB of extra memory. The audio files need not exist: with data.check_audio=false the
lines are parsed and their transcripts checked up front, and a bad file fails when loaded.

    python bench/manifest_scale.py [ENTRIES]
"""

import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from asrlab.data.datamodule import ASRDataModule
from asrlab.data.datasets.manifest import Manifests
from asrlab.model.frontends import LogMel
from asrlab.text.tokenizer import CharTokenizer
from common import write_result

WORDS = "zero one two three four five six seven eight nine".split()


def write_manifest(path: Path, entries: int) -> None:
    rng = random.Random(0)
    with path.open("w") as f:
        for i in range(entries):
            text = " ".join(rng.choices(WORDS, k=rng.randint(1, 12)))
            line = {
                "audio_filepath": f"audio/{i // 1000:04d}/{i:07d}.flac",
                "duration": round(rng.lognormvariate(1.5, 0.6), 3),
                "text": text,
            }
            f.write(json.dumps(line) + "\n")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(entries: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "train.jsonl"
        write_manifest(manifest, entries)
        small = Path(tmp) / "small.jsonl"
        small.write_text("".join(manifest.open().readline() for _ in range(1)))
        before = peak_rss_mib()
        start = time.perf_counter()
        datamodule = ASRDataModule(
            Manifests(train=str(manifest), val=str(small), test=str(small)),
            CharTokenizer(),
            LogMel().output_frames,
            batch_size=None,
            max_frames_per_batch=20000,
            check_audio=False,
        )
        datamodule.setup("fit")
        batches = iter(datamodule.train_dataloader().batch_sampler)
        next(batches)
        seconds = time.perf_counter() - start
        extra = peak_rss_mib() - before
    write_result(
        "manifest_scale",
        {
            "entries": entries,
            "ready_seconds": round(seconds, 2),
            "extra_peak_memory_mib": round(extra, 1),
            "target_seconds": 30,
            "target_memory_mib": 1024,
        },
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
