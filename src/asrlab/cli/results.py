"""asrlab-results: seed replicates under some paths -> a generated RESULTS.md table.

    asrlab-train -m seed=1,2,3 experiment=crnn
    asrlab-results outputs/train/multiruns/2026-01-01_12-00-00 [--out RESULTS.md] [--baseline RUN]

Runs whose configs differ only in `seed` form one row (asrlab.tools.compare.results).
"""

import shlex
from collections.abc import Sequence
from pathlib import Path

from asrlab.cli.compare import parse_run_paths, run_paths_parser
from asrlab.tools.compare.replicates import group_replicates
from asrlab.tools.compare.report import count
from asrlab.tools.compare.results import render, replicates_versus_baseline
from asrlab.tools.compare.runs import load_runs
from asrlab.tools.compare.significance import SignificanceError, find_baseline
from asrlab.training.utterances import UtterancesError


def main(argv: Sequence[str] | None = None) -> None:
    parser = run_paths_parser(
        "asrlab-results",
        "Group the run folders under PATHs by config (all but the seed) and write a Markdown "
        "table of test WER and CER, mean ± std over seeds.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("RESULTS.md"), help="the file to write (RESULTS.md)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="RUN",
        help="a run folder: add each row's test WER difference to its row, with a 95%% paired "
        "bootstrap interval and the probability of improvement",
    )
    args = parse_run_paths(parser, argv)

    runs, failed = load_runs([*args.paths, *([args.baseline] if args.baseline else [])], False)
    if not runs and not failed:
        names = ", ".join(map(str, args.paths))
        parser.exit(1, f"asrlab-results: no run folders (with .hydra/config.yaml) under {names}\n")
    groups, ungrouped = group_replicates(runs, failed)
    versus, baseline = None, None
    if args.baseline is not None:
        try:
            baseline = find_baseline(runs, args.baseline)
            versus = replicates_versus_baseline(groups, baseline)
        except (SignificanceError, UtterancesError) as err:
            parser.exit(1, f"asrlab-results: {err}\n")
    command = ["asrlab-results", *map(str, args.paths), "--out", str(args.out)]
    command += ["--baseline", str(args.baseline)] if args.baseline else []
    name = baseline.name if baseline else None
    text = render(groups, ungrouped, shlex.join(command), versus, name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"wrote {args.out}: {count(groups, 'config')}, {count(failed, 'failed run')}")


if __name__ == "__main__":
    main()
