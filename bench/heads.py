"""Heads x encoders: test WER and CER, parameters, training seconds per epoch and decoding RTF of
every sequence head on a GRU and on a Conformer, on synth_digits and on speaker-independent FSDD.

Trains every (task, config) into bench/results/heads/TASK/CONFIG with asrlab-train, skipping
runs whose metrics.json exists (so an interrupted bench resumes; `asrlab-compare
bench/results/heads` ranks the same runs), then writes bench/results/heads.json and prints a
table. Tasks: `synth_digits` at the default size; `fsdd_SPEAKER`, experiment=fsdd_si with SPEAKER
held out for test and the next speaker of --speakers for validation, the other FSDD speakers
training, one fold per each of the first --folds speakers. A config is HEAD_ENCODER; on FSDD also
`fsdd_si`, the experiment as it is (CRNN-CTC), the baseline. On the encoders of --ctc-init (by
default the Conformer, which learns only under CTC from scratch) a head other than CTC is
HEAD_ENCODER_from_ctc: its encoder starts from the same task's ctc_ENCODER run, trained first.
Targets: on synth_digits every head reaches test CER <= 2% within 300 s of training (a
from_ctc run's seconds count its CTC run's; the GRU's transducer, attention and hybrid heads
train to the budgets of SYNTH_BUDGETS); on FSDD the best pair's mean test WER over the
folds is below the baseline's. Each run takes minutes on a CPU; --smoke (or ASRLAB_SMOKE=1)
trains each on two batches of tiny data (asrlab.cli.smoke), in seconds, into
bench/results/heads_smoke and heads_smoke.json.

    python bench/heads.py [--tasks synth_digits fsdd] [--heads ctc rnnt aed ctc_aed]
        [--encoders gru conformer] [--ctc-init conformer] [--speakers ...] [--folds 3]
        [--fsdd PATH] [--smoke] [--report-only] [-- HYDRA OVERRIDES]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from asrlab.cli.smoke import SMOKE_ENV, SYNTH_DIGITS, smoke_enabled
from asrlab.text.markdown import markdown_table
from common import REPO, RESULTS, write_result
from fsdd_speakers import FSDD, SPEAKERS, fold_overrides

HEADS = ["ctc", "rnnt", "aed", "ctc_aed"]
ENCODERS = ["gru", "conformer"]
# Encoders whose heads other than CTC start from a CTC run's encoder (README, "Heads and encoders").
CTC_INIT = ["conformer"]
BASELINE = "fsdd_si"
TARGET_CER = 0.02
TARGET_TRAIN_SECONDS = 300.0
# How each GRU head fits synth_digits' 5-minute budget on a 2-core CPU (README, "Heads and
# encoders"): the transducer and the hybrid stop at a training-time budget (the step past it and
# that epoch's validation still run, hence 4:50); the attention decoder, stopped partway along
# its schedule, ends unannealed, so its schedule is laid out over 7 epochs (8 took 292 to 302 s).
SYNTH_BUDGETS = {
    "rnnt_gru": ["callbacks.timer.duration=00:00:04:50"],
    "ctc_aed_gru": ["callbacks.timer.duration=00:00:04:50"],
    "aed_gru": ["trainer.max_epochs=7"],
}
# What the bench keeps of a run's metrics.json.
KEPT = ("test_wer", "test_cer", "num_params", "train_seconds", "epochs")
KEPT += ("decode_rtf", "decode_rtf_encoder", "decode_rtf_search")
# --smoke: fsdd_si's synthetic voices at the size asrlab.cli.smoke gives synth_digits.
SMOKE_MIX = [o.replace("data.source.", "data.source.sources.synth_digits.") for o in SYNTH_DIGITS]


def tasks(names: list[str], speakers: list[str], folds: int, fsdd: Path) -> dict[str, list[str]]:
    """Each task's overrides: synth_digits, and fsdd_SPEAKER for the first `folds` speakers."""
    found: dict[str, list[str]] = {}
    if "synth_digits" in names:
        found["synth_digits"] = []
    if "fsdd" in names:
        for i, test in enumerate(speakers[:folds]):
            found[f"fsdd_{test}"] = fold_overrides(test, speakers[(i + 1) % len(speakers)], fsdd)
    return found


def configs(
    task: str, heads: list[str], encoders: list[str], ctc_init: list[str], folder: Path
) -> dict[str, list[str]]:
    """Each config's overrides, in training order: every head x encoder (on synth_digits with
    its SYNTH_BUDGETS), a head other than CTC on an encoder of `ctc_init` after the CTC run in
    `folder` it starts from, and the baseline on FSDD."""
    grid: dict[str, list[str]] = {}
    for h in heads:
        for e in encoders:
            if h == "ctc" or e not in ctc_init:
                budget = SYNTH_BUDGETS.get(f"{h}_{e}", []) if task == "synth_digits" else []
                grid[f"{h}_{e}"] = [f"head={h}", f"encoder={e}", *budget]
                continue
            grid.setdefault(f"ctc_{e}", ["head=ctc", f"encoder={e}"])
            start = folder / f"ctc_{e}" / "checkpoints" / "last.ckpt"
            init = [f"init_from={start}", "init.modules=[encoder]"]
            grid[f"{h}_{e}_from_ctc"] = [f"head={h}", f"encoder={e}", *init]
    return {BASELINE: [], **grid} if task.startswith("fsdd_") else grid


def init_from(overrides: list[str]) -> Path | None:
    """The checkpoint a run's `init_from` override starts it from, if it has one."""
    starts = [o.partition("=")[2] for o in overrides if o.startswith("init_from=")]
    return Path(starts[-1]) if starts else None


def train(folder: Path, overrides: list[str], smoke: bool) -> None:
    """One run, unless its metrics.json exists; a failed run, or one whose `init_from` run has
    not finished, is reported and left for later."""
    if (folder / "metrics.json").is_file():
        return
    if (start := init_from(overrides)) is not None and not start.is_file():
        print(f"heads: {folder} waits for {start}; rerun to retry", file=sys.stderr)
        return
    command = [str(Path(sys.executable).parent / "asrlab-train"), *overrides]
    command.append(f"hydra.run.dir={folder}")
    print("heads:", " ".join(command[1:]), file=sys.stderr)
    env = {**os.environ, SMOKE_ENV: "1"} if smoke else None
    if subprocess.run(command, cwd=REPO, env=env).returncode:
        print(f"heads: {folder} failed; rerun to retry", file=sys.stderr)


def summarize(folder: Path, overrides: list[str]) -> dict[str, Any] | None:
    """What the bench reports of a finished run, or None; `init_seconds`: the training seconds
    of the run its `init_from` override starts it from (0 without one)."""
    path = folder / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text())
    row = {key: metrics.get(key) for key in KEPT}
    row["init_seconds"] = 0.0
    if (start := init_from(overrides)) is not None:
        run = start.parent.parent  # RUN/checkpoints/last.ckpt
        row["init_seconds"] = json.loads((run / "metrics.json").read_text())["train_seconds"]
    seconds, epochs = row["train_seconds"], row["epochs"]
    row["train_seconds_per_epoch"] = seconds / epochs if seconds is not None and epochs else None
    return row


def synth_targets(rows: list[dict[str, Any]]) -> dict[str, bool]:
    """Per synth_digits config: test CER <= 2% within the training budget (the seconds of the
    run it started from included)."""
    return {
        r["config"]: r["test_cer"] <= TARGET_CER
        and r["train_seconds"] is not None
        and r["train_seconds"] + r.get("init_seconds", 0.0) <= TARGET_TRAIN_SECONDS
        for r in rows
        if r["task"] == "synth_digits"
    }


def fsdd_means(rows: list[dict[str, Any]], folds: list[str]) -> dict[str, Any]:
    """Per FSDD config, the mean test WER over the folds (configs missing a fold are left out);
    the best head x encoder pair and whether it beats the baseline."""
    wers: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["task"] in folds:
            wers.setdefault(r["config"], {})[r["task"]] = r["test_wer"]
    means = {c: statistics.mean(w.values()) for c, w in wers.items() if len(w) == len(folds)}
    pairs = {c: m for c, m in means.items() if c != BASELINE}
    best = min(pairs, key=pairs.__getitem__) if pairs else None
    baseline = means.get(BASELINE)
    beats = None if best is None or baseline is None else pairs[best] < baseline
    return {
        "folds": folds,
        "mean_test_wer": means,
        "best_pair": best,
        "baseline_mean_test_wer": baseline,
        "beats_baseline": beats,
    }


def _number(value: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(scale * value, spec)


def table(rows: list[dict[str, Any]]) -> list[str]:
    header = ["task", "config", "test WER %", "test CER %", "params", "train s/epoch", "RTF"]
    cells = [
        [
            r["task"],
            r["config"],
            _number(r["test_wer"], ".2f", 100),
            _number(r["test_cer"], ".2f", 100),
            _number(r["num_params"], ".0f"),
            _number(r["train_seconds_per_epoch"], ".1f"),
            _number(r["decode_rtf"], ".3f"),
        ]
        for r in rows
    ]
    return markdown_table(header, cells)


def main(argv: list[str]) -> None:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["synth_digits", "fsdd"])
    parser.add_argument("--heads", nargs="+", default=HEADS, choices=HEADS)
    parser.add_argument("--encoders", nargs="+", default=ENCODERS)
    parser.add_argument(
        "--ctc-init", nargs="*", default=CTC_INIT, help="none: every head from scratch"
    )
    parser.add_argument("--speakers", nargs="+", default=SPEAKERS, help="each validates the last")
    parser.add_argument("--folds", type=int, default=3, help="test on the first N speakers")
    parser.add_argument("--fsdd", type=Path, default=FSDD, help="the FSDD folder (recordings/)")
    parser.add_argument("--smoke", action="store_true", default=smoke_enabled())
    parser.add_argument("--report-only", action="store_true", help="train nothing")
    args = parser.parse_args(argv[:split])
    extra = argv[split + 1 :]
    if unknown := set(args.tasks) - {"synth_digits", "fsdd"}:
        parser.error(f"unknown tasks {sorted(unknown)}: synth_digits, fsdd")
    if "fsdd" in args.tasks and not args.report_only and not (args.fsdd / "recordings").is_dir():
        parser.error(f"no FSDD at {args.fsdd} (recordings/ missing): pass --fsdd PATH")
    if "fsdd" in args.tasks and not 0 < args.folds < len(args.speakers):
        parser.error(f"--folds {args.folds}: 1 to {len(args.speakers) - 1} (one speaker validates)")
    name = "heads_smoke" if args.smoke else "heads"
    runs = RESULTS / name
    planned = tasks(args.tasks, args.speakers, args.folds, args.fsdd)
    rows = []
    for task, task_overrides in planned.items():
        shrink = SMOKE_MIX if args.smoke and task != "synth_digits" else []
        grid = configs(task, args.heads, args.encoders, args.ctc_init, runs / task)
        for config, overrides in grid.items():
            folder = runs / task / config
            if not args.report_only:
                train(folder, [*task_overrides, *overrides, *shrink, *extra], args.smoke)
            if (row := summarize(folder, overrides)) is not None:
                rows.append({"task": task, "config": config, **row})
    folds = [task for task in planned if task.startswith("fsdd_")]
    result = {
        "smoke": args.smoke,
        "overrides": extra,
        "runs": rows,
        "synth_digits": {
            "target": f"test CER <= {TARGET_CER} within {TARGET_TRAIN_SECONDS:.0f} s of training",
            "meets_target": synth_targets(rows),
        },
        "fsdd": fsdd_means(rows, folds),
    }
    write_result(name, result)
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main(sys.argv[1:])
