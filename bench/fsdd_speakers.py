"""Speaker-independent FSDD, each speaker held out in turn: test WER per unseen speaker.

Trains experiment=fsdd_si once per test speaker (validation on the next speaker in the list),
keeps each run in OUT/SPEAKER (a finished one, with its metrics.json, is reused) and writes
bench/results/OUT_NAME.json over every finished fold in OUT, so that folds trained one at a
time add up (the target is met only with all five). Each run takes minutes on a CPU. Give the
same speakers and another --out with overrides (a fine-tuning's `init_from=...`) to compare two
recipes fold by fold: `asrlab-compare OUT/SPEAKER --baseline OTHER/SPEAKER` gives each fold's
paired interval.

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


def validator(test: str) -> str:
    """The speaker validating the fold that tests `test`: the next in SPEAKERS."""
    return SPEAKERS[(SPEAKERS.index(test) + 1) % len(SPEAKERS)]


def run(test: str, fsdd: Path, overrides: list[str], run_dir: Path) -> None:
    """Trains the fold testing `test` into `run_dir` unless it finished there."""
    if not (run_dir / "metrics.json").is_file():
        train = Path(sys.executable).parent / "asrlab-train"
        fold = fold_overrides(test, validator(test), fsdd)
        command = [str(train), *fold, f"hydra.run.dir={run_dir}", *overrides]
        subprocess.run(command, check=True, cwd=REPO)


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
    out = args.out.absolute()
    for test in args.speakers or SPEAKERS:
        run(test, args.fsdd, overrides, out / test)
    results = {}
    for test in SPEAKERS:
        if not (out / test / "metrics.json").is_file():
            continue
        metrics = json.loads((out / test / "metrics.json").read_text())
        results[test] = {
            "val_speaker": validator(test),
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
        "missing": [speaker for speaker in SPEAKERS if speaker not in results],
        "target": f"mean test WER <= {MEAN_TARGET}, no speaker above {FOLD_TARGET}",
        "meets_target": len(wers) == len(SPEAKERS)
        and mean <= MEAN_TARGET
        and max(wers) <= FOLD_TARGET,
    }
    write_result(args.out.name, result)
    return result


if __name__ == "__main__":
    main()
