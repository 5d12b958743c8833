"""bench/gpu_check.sh on a machine without a GPU: its arguments, its plan, its report."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
from gpu_check_report import main as report  # noqa: E402


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(BENCH / "gpu_check.sh"), *args], capture_output=True, text=True
    )


def test_help_and_bad_arguments() -> None:
    assert "--dry-run" in _script("--help").stdout
    bad = _script("--steps", "0")
    assert bad.returncode == 2 and "not a positive count: 0" in bad.stderr
    unknown = _script("--fast")
    assert unknown.returncode == 2 and "unknown argument --fast" in unknown.stderr


def test_dry_run_prints_every_command_and_runs_none() -> None:
    result = _script("--dry-run", "--steps", "7", "--out", "report.json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    trainings = [line for line in lines if "train_overhead.py" in line]
    assert len(trainings) == 4 and all("--steps 7" in line for line in trainings)
    for encoder in ("gru", "conformer"):
        for precision in ("bf16-mixed", "32-true"):
            assert sum(f"--encoder {encoder} " in t and f"={precision}" in t for t in trainings)
    assert any("asrlab.cli.train trainer=gpu" in line for line in lines)
    assert any("bench/decoding.py" in line for line in lines)
    assert lines[-1].endswith("gpu_check_report.py bench/results/gpu_check report.json")


def test_report_merges_the_parts(tmp_path: Path) -> None:
    part = {
        "overrides": ["encoder=gru", "trainer=gpu"],
        "utterances_per_run": 100,
        "audio_seconds_per_run": 50.0,
        "lightning_audio_s_per_s": 900.0,
        "plain_audio_s_per_s": 1000.0,
        "asrlab_over_plain": 0.9,
    }
    (tmp_path / "train-gru-bf16-mixed.json").write_text(json.dumps(part))
    (tmp_path / "train-gru-bf16-mixed.util.csv").write_text("90, 1000\n10, 1200\n95, 1100\n")
    decoders = {"beam": {"wer": 0.1, "rtf": 0.01}, "beam_cuda": {"wer": 0.1, "rtf": 0.001}}
    (tmp_path / "decoding.json").write_text(json.dumps({"decoders": decoders}))
    (tmp_path / "decoding.util.csv").write_text("")
    report(tmp_path, tmp_path / "out.json")
    result = json.loads((tmp_path / "out.json").read_text())
    gru = result["training"]["train-gru-bf16-mixed"]
    assert gru["lightning_samples_per_s"] == 1800.0 and gru["plain_samples_per_s"] == 2000.0
    assert gru["gpu"] == {
        "samples": 3,
        "gpu_util_median_pct": 90.0,
        "gpu_util_mean_pct": 65.0,
        "share_of_samples_over_50_pct": pytest.approx(0.667),
        "memory_used_max_mib": 1200,
    }
    assert result["decoding"] == decoders and result["decoding_gpu"]["samples"] == 0
