"""asrlab-compare: rank the run folders under some paths and show what they varied.

    asrlab-compare outputs/train/multiruns/2026-01-01_12-00-00 [--metric best_val_wer] [--out DIR]

Prints the ranked table and writes runs.csv, runs.md, wer_vs_params.png, wer_vs_time.png and
val_wer_curves.png into DIR (default: compare/ under the first path).
"""

from asrlab.compare.cli import main

__all__ = ["main"]
