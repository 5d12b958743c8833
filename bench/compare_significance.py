"""How long does `asrlab-compare --baseline` take on a folder of runs?

Writes --runs fake finished run folders (a config, metrics.json and a test_utterances.npz of
--utterances utterances each, one test set) into a temporary folder, then times the installed
console script as a user runs it, `asrlab-compare FOLDER --baseline RUN` (start-up, reading, the
paired bootstrap, the tables and the three plots written under FOLDER/compare), the same without
--baseline and with `--plots` alone (no figures), and the start-up alone (`import
asrlab.cli.compare` in a fresh interpreter), in turn, --repeats times each (wall and CPU seconds:
on a shared machine the CPU seconds are the steadier figure), and reading with the paired
bootstrap alone in this process; the load averages (1, 5, 15 min, as `uptime`) before and after.
Target: the command under 5 s for 20 runs of 5,000 utterances. Writes
bench/results/compare_significance.json.

    python bench/compare_significance.py [--runs 20] [--utterances 5000] [--repeats 3]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from asrlab.tools.compare.runs import load_runs
from asrlab.tools.compare.significance import find_baseline, versus_baseline
from asrlab.training.utterances import UtteranceCounts
from common import write_result

TARGET_SECONDS = 5.0


def write_runs(root: Path, runs: int, utterances: int) -> list[Path]:
    """Fake run folders; run k makes about (10 + k) % word errors on the same test set."""
    rng = np.random.default_rng(0)
    words = rng.integers(1, 12, size=utterances)
    ids = [f"data/test.jsonl:{n}" for n in range(1, utterances + 1)]
    references = [f"reference {n}" for n in range(utterances)]
    folders = []
    for k in range(runs):
        folder = root / f"{k}_lr={k}"
        (folder / ".hydra").mkdir(parents=True)
        config = {"seed": 1, "optimizer": {"lr": 1e-3 * (k + 1)}, "encoder": {"hidden": 64}}
        (folder / ".hydra" / "config.yaml").write_text(json.dumps(config))
        errors = rng.binomial(words, 0.10 + 0.01 * k)
        metrics = {"test_wer": errors.sum() / words.sum(), "num_params": 1000, "train_seconds": 1}
        (folder / "metrics.json").write_text(json.dumps(metrics))
        UtteranceCounts.of(ids, references, [errors, words, errors, 5 * words]).save(folder)
        folders.append(folder)
    return folders


def timed_run(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of running `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--utterances", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    script = str(Path(sys.executable).parent / "asrlab-compare")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        baseline = write_runs(root, args.runs, args.utterances)[0]
        versus = [script, str(root), "--baseline", str(baseline)]
        commands = {
            "with_baseline": versus,
            "without": [script, str(root)],
            "with_baseline_no_plots": [*versus, "--plots"],
            "start_up": [sys.executable, "-c", "import asrlab.cli.compare"],
        }
        timed: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                timed[name].append(timed_run(command))
        runs, _ = load_runs([root], val_curves=False)
        start = time.perf_counter()
        versus_baseline(runs, find_baseline(runs, baseline), set())
        bootstrap_seconds = time.perf_counter() - start
    result: dict[str, Any] = {"runs": args.runs, "utterances": args.utterances, "resamples": 1000}
    for name, runs_timed in timed.items():
        for i, kind in enumerate(("wall", "cpu")):
            values = [t[i] for t in runs_timed]
            result[f"{name}_{kind}_seconds"] = [round(v, 2) for v in values]
            result[f"{name}_{kind}_median"] = round(statistics.median(values), 2)
    result["read_and_bootstrap_seconds"] = round(bootstrap_seconds, 3)
    result["target_seconds"] = TARGET_SECONDS
    result["meets_target_wall"] = result["with_baseline_wall_median"] < TARGET_SECONDS
    result["meets_target_cpu"] = result["with_baseline_cpu_median"] < TARGET_SECONDS
    result["load_average_before"] = [round(load, 2) for load in load_before]
    result["load_average_after"] = [round(load, 2) for load in os.getloadavg()]
    write_result("compare_significance", result)


if __name__ == "__main__":
    main()
