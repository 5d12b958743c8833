"""Speaker-independent FSDD, each speaker held out in turn: test WER per unseen speaker.

Trains experiment=fsdd_si once per test speaker (validation on the next speaker in the list),
keeps each run in OUT/SPEAKER (a finished one, with its metrics.json, is reused) and writes
bench/results/OUT_NAME.json. Each run takes minutes on a CPU. Give the same speakers and
another --out with overrides (a fine-tuning's `init_from=...`) to compare two recipes fold by
fold: `asrlab-compare OUT/SPEAKER --baseline OTHER/SPEAKER` gives each fold's paired interval.

    python bench/fsdd_speakers.py [SPEAKER ...] [--out DIR] [--fsdd PATH] [-- HYDRA OVERRIDES]
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import REPO, RESULTS, write_result

FSDD = REPO.parent / "shared" / "data" / "fsdd"
SPEAKERS = ["theo", "nicolas", "george", "jackson", "lucas"]  # each validated on the next
MEAN_TARGET, FOLD_TARGET = 0.12, 0.25


def fold_overrides(test: str, val: str, fsdd: Path) -> list[str]:
    """experiment=fsdd_si testing speaker `test`, validating on `val`."""
    return [
        "experiment=fsdd_si",
        f"data.source.sources.fsdd.root={fsdd}",
        f"data.source.sources.fsdd.test_speakers=[{test}]",
        f"data.source.sources.fsdd.val_speakers=[{val}]",
    ]


def run(test: str, val: str, fsdd: Path, overrides: list[str], run_dir: Path) -> dict[str, Any]:
    """Trains the fold testing `test` into `run_dir` unless it finished there; its metrics."""
    metrics = run_dir / "metrics.json"
    if not metrics.is_file():
        train = Path(sys.executable).parent / "asrlab-train"
        fold = fold_overrides(test, val, fsdd)
        command = [str(train), *fold, f"hydra.run.dir={run_dir}", *overrides]
        subprocess.run(command, check=True, cwd=REPO)
    return json.loads(metrics.read_text())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("speakers", nargs="*", help=f"default: {' '.join(SPEAKERS)}")
    parser.add_argument("--out", type=Path, default=RESULTS / "fsdd_speakers")
    parser.add_argument("--fsdd", type=Path, default=FSDD, help="the FSDD folder (recordings/)")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args, overrides = parser.parse_args(argv[:split]), argv[split + 1 :]
    if unknown := set(args.speakers) - set(SPEAKERS):
        parser.error(f"unknown speakers {sorted(unknown)}: {', '.join(SPEAKERS)}")
    if not (args.fsdd / "recordings").is_dir():
        parser.error(f"no FSDD at {args.fsdd} (recordings/ missing): pass --fsdd PATH")
    results = {}
    for test in args.speakers or SPEAKERS:
        val = SPEAKERS[(SPEAKERS.index(test) + 1) % len(SPEAKERS)]
        metrics = run(test, val, args.fsdd, overrides, args.out.absolute() / test)
        results[test] = {
            "val_speaker": val,
            "test_wer": round(metrics["test_wer"], 4),
            "test_cer": round(metrics["test_cer"], 4),
            "train_seconds": metrics["train_seconds"],
        }
    wers = [r["test_wer"] for r in results.values()]
    mean = sum(wers) / len(wers)
    result = {
        "overrides": overrides,
        "per_speaker": results,
        "mean_test_wer": round(mean, 4),
        "std_test_wer": round(statistics.pstdev(wers), 4),
        "target": f"mean test WER <= {MEAN_TARGET}, no speaker above {FOLD_TARGET}",
        "meets_target": mean <= MEAN_TARGET and max(wers) <= FOLD_TARGET,
    }
    write_result(args.out.name, result)
    return result


if __name__ == "__main__":
    main()
