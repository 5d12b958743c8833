"""bench/sweep_pruning.py --smoke: both sweeps of a seed run and are summed up."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import sweep_pruning  # noqa: E402


@pytest.mark.slow  # two smoke sweeps of two trials: about a minute on 2 cores
def test_the_smoke_bench_sums_up_both_sweeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASRLAB_DATA_DIR", str(tmp_path / "data"))  # smoke size synth_digits
    result = sweep_pruning.main(["--smoke", "--seeds", "1", "--jobs", "1", "--out", str(tmp_path)])
    (run,) = result["runs"]
    for pruner in ("none", "successive_halving"):
        assert run[pruner]["trials"] == {"COMPLETE": 2} and run[pruner]["trial_seconds"] > 0
        assert 0 <= run[pruner]["best_val_wer"] and run[pruner]["epochs"] == 2
    versus = run["versus_none"]["successive_halving"]
    assert versus["time_ratio"] > 0 and versus["epoch_ratio"] == 1 and "target_met" in versus
