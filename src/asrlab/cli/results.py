"""asrlab-results: seed replicates under some paths -> a generated RESULTS.md table.

    asrlab-train -m seed=1,2,3 experiment=crnn
    asrlab-results outputs/train/multiruns/2026-01-01_12-00-00 [--out RESULTS.md]

Runs whose configs differ only in `seed` form one row (asrlab.tools.compare.results).
"""

import shlex
from collections.abc import Sequence
from pathlib import Path

from asrlab.cli.compare import parse_run_paths, run_paths_parser
from asrlab.tools.compare.replicates import group_replicates
from asrlab.tools.compare.report import count
from asrlab.tools.compare.results import render
from asrlab.tools.compare.runs import load_runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = run_paths_parser(
        "asrlab-results",
        "Group the run folders under PATHs by config (all but the seed) and write a Markdown "
        "table of test WER and CER, mean ± std over seeds.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("RESULTS.md"), help="the file to write (RESULTS.md)"
    )
    args = parse_run_paths(parser, argv)

    runs, failed = load_runs(args.paths, val_curves=False)
    if not runs and not failed:
        names = ", ".join(map(str, args.paths))
        parser.exit(1, f"asrlab-results: no run folders (with .hydra/config.yaml) under {names}\n")
    groups, ungrouped = group_replicates(runs, failed)
    command = shlex.join(["asrlab-results", *map(str, args.paths), "--out", str(args.out)])
    text = render(groups, ungrouped, command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"wrote {args.out}: {count(groups, 'config')}, {count(failed, 'failed run')}")


if __name__ == "__main__":
    main()
