"""Every encoder at its default size, trained the same way on synth_digits: one table.

For each `conf/encoder/*.yaml`: parameters, training throughput (audio-seconds of training data
per second of `fit`, validation included) on this machine, and test WER. Writes
bench/results/encoders.json and encoders.md. Each run takes minutes on a CPU; the run folders
stay under --runs (default: a temporary folder) for TensorBoard or asrlab-compare.

    python bench/encoders.py [ENCODER ...] [--runs DIR] [-- HYDRA OVERRIDES]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from hydra.utils import instantiate

from asrlab.data.manifest import read_manifest
from asrlab.training.checkpoint import checkpoint_config, read_checkpoint
from common import REPO, RESULTS, write_result

ENCODERS = sorted(p.stem for p in (REPO / "src/asrlab/conf/encoder").glob("*.yaml"))


def train(encoder: str, overrides: list[str], run_dir: Path) -> dict:
    command = [
        str(Path(sys.executable).parent / "asrlab-train"),
        f"encoder={encoder}",
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]
    subprocess.run(command, check=True, cwd=REPO)
    return json.loads((run_dir / "metrics.json").read_text())


def train_audio_seconds(run_dir: Path) -> float:
    """Seconds of audio in the run's training split (its checkpoint holds the resolved config)."""
    path = run_dir / "checkpoints" / "last.ckpt"
    source = instantiate(checkpoint_config(path, read_checkpoint(path)).data.source)
    return sum(u.duration for u in read_manifest(source.prepare()["train"]))


def markdown(rows: list[dict]) -> str:
    lines = [
        "| encoder | parameters | train audio-s/s | train s | test WER | test CER |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: r["test_wer"]):
        lines.append(
            f"| {r['encoder']} | {r['num_params'] / 1e6:.2f} M | {r['audio_s_per_s']:.1f} "
            f"| {r['train_seconds']:.0f} | {100 * r['test_wer']:.2f}% "
            f"| {100 * r['test_cer']:.2f}% |"
        )
    return "\n".join(lines) + "\n"


def main(args: list[str]) -> None:
    split = args.index("--") if "--" in args else len(args)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("encoders", nargs="*", default=ENCODERS)
    parser.add_argument("--runs", type=Path, default=None)
    options, overrides = parser.parse_args(args[:split]), args[split + 1 :]
    with tempfile.TemporaryDirectory() as tmp:
        runs = options.runs or Path(tmp)
        rows = []
        for encoder in options.encoders:
            run_dir = runs / encoder
            metrics = train(encoder, overrides, run_dir)
            audio = train_audio_seconds(run_dir) * metrics["epochs"]
            rows.append(
                {
                    "encoder": encoder,
                    "num_params": metrics["num_params"],
                    "audio_s_per_s": round(audio / metrics["train_seconds"], 2),
                    "train_seconds": metrics["train_seconds"],
                    "epochs": metrics["epochs"],
                    "test_wer": round(metrics["test_wer"], 4),
                    "test_cer": round(metrics["test_cer"], 4),
                }
            )
    write_result("encoders", {"dataset": "synth_digits", "overrides": overrides, "rows": rows})
    (RESULTS / "encoders.md").write_text(markdown(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
