"""Speaker-independent FSDD, each speaker held out in turn: test WER per unseen speaker.

Trains experiment=fsdd_si once per test speaker (validation on the next speaker in the list)
and writes bench/results/fsdd_speakers.json. Each run takes minutes on a CPU.

    python bench/fsdd_speakers.py [SPEAKER ...] [-- HYDRA OVERRIDES]
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO, write_result

FSDD = REPO.parent / "shared" / "data" / "fsdd"
SPEAKERS = ["theo", "nicolas", "george", "jackson", "lucas"]  # each validated on the next


def run(test: str, val: str, overrides: list[str], run_dir: Path) -> dict:
    train = Path(sys.executable).parent / "asrlab-train"
    command = [
        str(train),
        "experiment=fsdd_si",
        f"data.source.sources.fsdd.root={FSDD}",
        f"data.source.sources.fsdd.test_speakers=[{test}]",
        f"data.source.sources.fsdd.val_speakers=[{val}]",
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]
    subprocess.run(command, check=True, cwd=REPO)
    return json.loads((run_dir / "metrics.json").read_text())


def main(args: list[str]) -> None:
    split = args.index("--") if "--" in args else len(args)
    tests, overrides = args[:split] or SPEAKERS, args[split + 1 :]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for test in tests:
            val = SPEAKERS[(SPEAKERS.index(test) + 1) % len(SPEAKERS)]
            metrics = run(test, val, overrides, Path(tmp) / test)
            results[test] = {
                "val_speaker": val,
                "test_wer": round(metrics["test_wer"], 4),
                "test_cer": round(metrics["test_cer"], 4),
                "train_seconds": metrics["train_seconds"],
            }
    mean = sum(r["test_wer"] for r in results.values()) / len(results)
    write_result(
        "fsdd_speakers",
        {
            "overrides": overrides,
            "per_speaker": results,
            "mean_test_wer": round(mean, 4),
            "target_test_wer": 0.10,
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
