"""asrlab-export: a trained CTC or RNN-T model as TorchScript (and ONNX), for use without asrlab.

    asrlab-export RUN/checkpoints/last.ckpt --format both --out DIR

Writes into DIR (default RUN/export), for CTC, model.pt (TorchScript) and/or model.onnx:
waveforms and their lengths in, CTC log-probs and their lengths out; for RNN-T, encoder.pt,
prediction.pt and joint.pt (TorchScript only) and rnnt_greedy.py, which decodes with them; and
tokenizer.json (the vocabulary) and model.json (inputs, outputs, sample rate, hop, encoder
stride, blank id, dynamic axes, opset, and how far each file is from PyTorch on a check batch).
"""

import argparse
from collections.abc import Sequence
from pathlib import Path
from pickle import UnpicklingError

from asrlab.cli.quiet import quiet
from asrlab.tools.exporting.bundle import ExportError, export_checkpoint
from asrlab.tools.exporting.formats import FILES
from asrlab.training.checkpoint_contents import CheckpointError
from asrlab.trust.configs import UntrustedTargetError
from asrlab.trust.pickles import UnsafeCheckpointError


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="asrlab-export", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a run's checkpoint: RUN/checkpoints/X.ckpt")
    parser.add_argument(
        "--format",
        choices=[*FILES, "both"],
        default="both",
        help="what to write (default both)",
    )
    parser.add_argument("--out", type=Path, help="the folder to write into (default RUN/export)")
    args = parser.parse_args(argv)
    quiet()
    if not args.checkpoint.is_file():
        parser.error(f"no such checkpoint: {args.checkpoint} (give RUN/checkpoints/NAME.ckpt)")
    out = args.out or args.checkpoint.parent.parent / "export"
    formats = list(FILES) if args.format == "both" else [args.format]
    try:
        spec = export_checkpoint(args.checkpoint, out, formats)
    except KeyError as err:
        parser.exit(1, f"asrlab-export: {args.checkpoint} is not an asrlab checkpoint: no {err}\n")
    except (CheckpointError, UnsafeCheckpointError, UntrustedTargetError) as err:  # they name it
        parser.exit(1, f"asrlab-export: {one_line(err)}\n")
    except (ExportError, UnpicklingError, ValueError) as err:
        parser.exit(1, f"asrlab-export: {args.checkpoint}: {one_line(err)}\n")
    for fmt in formats:
        if fmt not in spec["files"]:
            print(f"no {fmt}: a {spec['head']} head exports to TorchScript only")
            continue
        names = spec["files"][fmt]
        paths = ", ".join(
            str(out / name) for name in (names.values() if isinstance(names, dict) else [names])
        )
        difference = spec["check"]["max_abs_diff"][fmt]
        print(f"wrote {paths} (outputs within {difference:.1g} of PyTorch)")
    extra = [spec["files"]["greedy"]] if "greedy" in spec["files"] else []
    print(
        f"wrote {', '.join(str(out / name) for name in [*extra, 'tokenizer.json', 'model.json'])}"
    )


def one_line(error: Exception) -> str:
    """The error's message on one line (torch's unpickling errors span several)."""
    return " ".join(str(error).split())


if __name__ == "__main__":
    main()
