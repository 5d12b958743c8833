"""asrlab-average: one checkpoint averaging a run's newest or best checkpoints.

    asrlab-average RUN --last 3            # RUN/checkpoints/averaged.ckpt
    asrlab-average RUN --best 3 --out RUN/checkpoints/best3.ckpt

Every tool loads it as any checkpoint (asrlab-eval ckpt_path=..., asrlab-transcribe, asrlab-export);
see asrlab.training.averaging for what is averaged and what is refused.
"""

import argparse
from collections.abc import Sequence
from pathlib import Path
from pickle import UnpicklingError

from asrlab.cli.quiet import quiet
from asrlab.training.averaging import AveragingError, write_average
from asrlab.training.checkpoint_contents import CheckpointError


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="asrlab-average", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (with checkpoints/)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--last", type=int, metavar="K", help="the K newest checkpoints")
    which.add_argument("--best", type=int, metavar="K", help="the K best by validation WER")
    parser.add_argument(
        "--out", type=Path, help="the file to write (default RUN/checkpoints/averaged.ckpt)"
    )
    args = parser.parse_args(argv)
    quiet()
    folder = args.run / "checkpoints"
    if not folder.is_dir():
        parser.error(f"no checkpoints folder in {args.run} (give a run folder)")
    rank, k = ("last", args.last) if args.last is not None else ("best", args.best)
    out = args.out or folder / "averaged.ckpt"
    try:
        records = write_average(folder, rank, k, out)
    except (AveragingError, CheckpointError, UnpicklingError) as err:
        parser.exit(1, f"asrlab-average: {err}\n")
    for record in records:
        wer = "" if record["val_wer"] is None else f", val WER {100 * record['val_wer']:.2f}%"
        print(f"  {record['file']} (epoch {record['epoch']}, step {record['global_step']}{wer})")
    print(f"wrote {out}: the mean of the {rank} {k} checkpoints above")


if __name__ == "__main__":
    main()
