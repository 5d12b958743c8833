"""Sweep pruning: the same 16-trial Optuna search (the default model on synth_digits at reduced
size, over lr x hidden size x dropout) without pruning and with each of --pruners (by default
successive_halving, pruning on val/loss: the sweeps' own defaults), for two sampler seeds: the
trials' training seconds summed (each trial's own, from its metrics.json or pruned.json: a
trial is not charged for the partner it ran beside, nor for preparing data), the sweep's
wall-clock seconds, the epochs trained (which the machine's load does not change), and the
best val WER of each. The target: pruned reaches a best val WER within 10% (relative) of the
unpruned one in at most half the training seconds.

Each sweep goes to bench/results/sweep_pruning/seedS/PRUNER (its study: optuna.db there); the
result to bench/results/sweep_pruning.json. A sweep folder without optimization_results.yaml
is an interrupted sweep: it is removed and the sweep run again. The full run trains 64 small
trials: about an hour on 2 cores. `--smoke` runs each sweep as ASRLAB_SMOKE=1 does (two
one-epoch trials of tiny data) into bench/results/sweep_pruning_smoke.

    python bench/sweep_pruning.py [--seeds 1 2] [--trials 16] [--jobs 2] [--smoke]
        [--pruners median successive_halving hyperband] [--out DIR] [-- HYDRA OVERRIDES]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna

from common import RESULTS, write_result

PRUNERS = ("median", "successive_halving", "hyperband")
TIME_TARGET, WER_TARGET = 0.5, 1.1


def sweep(folder: Path, pruner: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Runs one sweep into `folder` (unless its study is there, complete) and sums it up."""
    trainer = Path(sys.executable).parent / "asrlab-train"
    command = [
        str(trainer),
        "-m",
        "hparams_search=optuna",
        f"hydra.sweeper.n_trials={args.trials}",
        f"hydra.sweeper.n_jobs={args.jobs}",
        f"hydra.sweeper.pruner={pruner}",
        f"hydra.sweeper.sampler.seed={seed}",
        "hydra.sweeper.study_name=bench",
        f"hydra.sweep.dir={folder}",
        *reduced(args),
        *args.overrides,
    ]
    env = {**os.environ, **({"ASRLAB_SMOKE": "1"} if args.smoke else {})}
    wall = folder / "wall_seconds"
    if not (folder / "optimization_results.yaml").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True)
        wall.write_text(f"{time.perf_counter() - start:.1f}\n")
    study = optuna.load_study(study_name="bench", storage=f"sqlite:///{folder / 'optuna.db'}")
    trained = trial_training(folder)
    trials = [t for t in study.trials if t.datetime_complete is not None]
    complete = [t.value for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    states = [t.state.name for t in trials]
    return {
        "trial_seconds": round(sum(seconds for seconds, _ in trained), 1),
        "epochs": sum(epochs for _, epochs in trained),
        "wall_seconds": float(wall.read_text()) if wall.is_file() else None,
        "best_val_wer": min(complete) if complete else None,
        "trials": {state: states.count(state) for state in sorted(set(states))},
    }


def reduced(args: argparse.Namespace) -> list[str]:
    """The overrides that make each trial small: its data sizes and epochs."""
    return [
        f"data.source.num_train={args.train}",
        f"data.source.num_val={args.val}",
        "data.source.num_test=100",
        f"trainer.max_epochs={args.epochs}",
    ]


def trial_training(folder: Path) -> list[tuple[float, int]]:
    """Each finished trial's own training seconds and epochs trained: its metrics.json's, or
    its pruned.json's (pruned after epoch E, counted from 0: E + 1 epochs)."""
    trained = []
    for trial in sorted(p for p in folder.iterdir() if p.is_dir()):
        if (path := trial / "metrics.json").is_file():
            metrics = json.loads(path.read_text())
            trained.append((metrics["train_seconds"], metrics["epochs"]))
        elif (path := trial / "pruned.json").is_file():
            pruned = json.loads(path.read_text())
            trained.append((pruned["train_seconds"], pruned["epoch"] + 1))
    return trained


def versus(unpruned: dict[str, Any], pruned: dict[str, Any]) -> dict[str, Any]:
    """A pruned sweep against the unpruned one: its share of the training seconds and epochs,
    its best val WER over theirs, and whether that meets the target."""
    ratios: dict[str, Any] = {
        "time_ratio": round(pruned["trial_seconds"] / unpruned["trial_seconds"], 3),
        "epoch_ratio": round(pruned["epochs"] / unpruned["epochs"], 3),
    }
    if unpruned["best_val_wer"] and pruned["best_val_wer"] is not None:
        ratios["wer_ratio"] = round(pruned["best_val_wer"] / unpruned["best_val_wer"], 3)
        ratios["target_met"] = (
            ratios["time_ratio"] <= TIME_TARGET and ratios["wer_ratio"] <= WER_TARGET
        )
    return ratios


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--pruners", nargs="+", default=["successive_halving"], choices=PRUNERS)
    parser.add_argument("--train", type=int, default=500, help="training utterances a trial")
    parser.add_argument("--val", type=int, default=300, help="validation utterances a trial")
    parser.add_argument("--epochs", type=int, default=12, help="epochs a complete trial trains")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--out", type=Path, help="default: bench/results/sweep_pruning[_smoke]; the JSON: its name"
    )
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    args.out = args.out or RESULTS / ("sweep_pruning_smoke" if args.smoke else "sweep_pruning")
    runs = []
    for seed in args.seeds:
        run: dict[str, Any] = {"seed": seed}
        for pruner in ["none", *args.pruners]:
            run[pruner] = sweep(args.out / f"seed{seed}" / pruner, pruner, seed, args)
        run["versus_none"] = {p: versus(run["none"], run[p]) for p in args.pruners}
        runs.append(run)
    result = {
        "trials": args.trials,
        "jobs": args.jobs,
        "smoke": args.smoke,
        "overrides": reduced(args) + args.overrides,
        "runs": runs,
    }
    if not args.smoke:
        write_result(args.out.name, result)
    return result


if __name__ == "__main__":
    main()
