"""The report of bench/gpu_check.sh: its parts' JSON and GPU utilisation samples, merged.

python bench/gpu_check_report.py WORK_DIR OUT.json
"""

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def utilisation(samples: Path) -> dict[str, float | int]:
    """nvidia-smi's `utilization.gpu,memory.used` lines (percent, MiB), every 200 ms -> summary."""
    rows = [line.split(",") for line in samples.read_text().splitlines() if line.strip()]
    busy = [float(percent) for percent, _ in rows]
    return {
        "samples": len(busy),
        "gpu_util_median_pct": statistics.median(busy) if busy else 0.0,
        "gpu_util_mean_pct": round(statistics.fmean(busy), 1) if busy else 0.0,
        "share_of_samples_over_50_pct": round(sum(b > 50 for b in busy) / len(busy), 3)
        if busy
        else 0.0,
        "memory_used_max_mib": max((int(float(mib)) for _, mib in rows), default=0),
    }


def training(part: Path) -> dict[str, Any]:
    """One bench/train_overhead.py result: utterances (samples) per second of each side."""
    result = json.loads(part.read_text())
    per_second = result["utterances_per_run"] / result["audio_seconds_per_run"]
    return {
        "overrides": result["overrides"],
        **{
            f"{kind}_samples_per_s": round(result[f"{kind}_audio_s_per_s"] * per_second, 1)
            for kind in ("lightning", "plain")
        },
        "asrlab_over_plain": result["asrlab_over_plain"],
        "gpu": utilisation(part.with_suffix(".util.csv")),
    }


def main(work: Path, out: Path) -> None:
    decoding = json.loads((work / "decoding.json").read_text())["decoders"]
    report = {
        "training": {p.stem: training(p) for p in sorted(work.glob("train-*.json"))},
        "decoding": {name: decoding[name] for name in ("beam", "beam_cuda") if name in decoding},
        "decoding_gpu": utilisation(work / "decoding.util.csv"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
