"""The asrlab-compare command line."""

import argparse
from argparse import Namespace
from collections.abc import Sequence
from pathlib import Path

from asrlab.tools.compare.pareto import fronts
from asrlab.tools.compare.report import print_tables, write_csv, write_markdown
from asrlab.tools.compare.runs import METRIC_CHOICES, load_runs, rank, shown_keys, varied_keys
from asrlab.tools.compare.significance import (
    SignificanceError,
    find_baseline,
    named_runs,
    versus_baseline,
)
from asrlab.training.utterances import UtterancesError

# The figures' names, as asrlab.tools.compare.plots.PLOTS has them (that module loads matplotlib).
PLOT_NAMES = ("params", "time", "curves", "pareto")


def run_paths_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A command-line parser taking PATH... (run folders, or folders holding them)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="a run folder, or a folder searched recursively for them (e.g. a multirun)",
    )
    return parser


def parse_run_paths(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> Namespace:
    """The parsed arguments; a PATH that is not a folder is a usage error."""
    args = parser.parse_args(argv)
    if missing := [str(p) for p in args.paths if not p.is_dir()]:
        parser.error(f"no such folder: {', '.join(missing)}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    parser = run_paths_parser(
        "asrlab-compare", "Rank the run folders under PATHs and show which settings they varied."
    )
    parser.add_argument(
        "--metric",
        choices=METRIC_CHOICES,
        default="test_wer",
        help="rank by this metrics.json value, lowest first (default test_wer)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for runs.csv, runs.md and the plots (default: compare/ under the first PATH)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="RUN",
        help="a run folder: add each run's test WER difference to it, with a 95%% paired "
        "bootstrap interval and the probability of improvement",
    )
    parser.add_argument(
        "--plots",
        nargs="*",
        choices=PLOT_NAMES,
        default=list(PLOT_NAMES),
        metavar="NAME",
        help="the figures to draw: params (test WER vs parameters), time (vs training seconds), "
        "curves (val WER), pareto (the Pareto fronts of WER against parameters and decoding "
        "RTF); `--plots` alone draws none (default: all four)",
    )
    args = parse_run_paths(parser, argv)
    runs, failed = load_runs([*args.paths, *([args.baseline] if args.baseline else [])])
    names = ", ".join(map(str, args.paths))
    if not runs and not failed:
        parser.exit(1, f"asrlab-compare: no run folders (with .hydra/config.yaml) under {names}\n")
    versus, baseline = None, None
    if args.baseline is not None:
        try:
            baseline = find_baseline(runs, args.baseline)
            versus = versus_baseline(runs, baseline, named_runs(args.paths))
        except (SignificanceError, UtterancesError) as err:
            parser.exit(1, f"asrlab-compare: {err}\n")
    keys = varied_keys(runs)
    shown = shown_keys(runs, keys)  # the tables' columns; runs.csv has every varied key
    ranked = rank(runs, args.metric)
    pareto = fronts(ranked, args.metric)
    name = baseline.name if baseline else None
    print_tables(ranked, failed, shown, args.metric, versus, pareto, name)
    if not runs:
        parser.exit(1, f"asrlab-compare: no finished runs (with metrics.json) under {names}\n")

    out_dir = args.out if args.out is not None else args.paths[0] / "compare"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "runs.csv", ranked, keys, versus, pareto)
    write_markdown(out_dir / "runs.md", ranked, failed, shown, args.metric, versus, name, pareto)
    written = ["runs.csv", "runs.md"]
    if args.plots:
        # Imported here: matplotlib is half of the command's start-up.
        from asrlab.tools.compare.plots import write_plots

        plots = write_plots(out_dir, ranked, shown, pareto, args.plots)
        written += [path.name for path in plots]
    print(f"wrote {', '.join(written)} to {out_dir}")
