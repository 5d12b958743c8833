"""bench/seed_spread.py: resumes finished runs, aggregates seeds, rewrites only its section."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import seed_spread  # noqa: E402


def finish(task: str, config: str, seed: int, wer: float) -> None:
    folder = seed_spread.run_dir(task, config, seed)
    folder.mkdir(parents=True)
    metrics = {"test_wer": wer, "test_wer_ci95": [wer - 0.01, wer + 0.01], "train_seconds": 10}
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_finished_runs_are_skipped_and_summarised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seed_spread, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(seed_spread, "RESULTS", tmp_path)
    monkeypatch.setattr(seed_spread, "write_result", lambda *_: None)
    monkeypatch.setattr(seed_spread.subprocess, "run", pytest.fail)  # nothing may train
    for seed, (a, b) in enumerate([(0.10, 0.20), (0.12, 0.22), (0.11, 0.21)], start=1):
        finish("hard", "default", seed, a)
        finish("hard", "encoder=lstm", seed, b)
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text("# Results\n\ntable\n\n## Seed spread\n\nold\n\n## Later\n\nkept\n")
    seed_spread.main(
        ["--seeds", "1", "2", "3", "--configs", "default", "encoder=lstm", "--tasks", "hard"]
        + ["--results-md", str(results_md)]
    )
    rows = [seed_spread.summarize("hard", c, [1, 2, 3]) for c in ("default", "encoder=lstm")]
    assert rows[0]["mean"] == pytest.approx(0.11) and rows[0]["std"] == pytest.approx(0.01)
    assert seed_spread.separated(rows) == [["hard", "default", "encoder=lstm"]]
    text = results_md.read_text()
    assert text.startswith("# Results\n\ntable\n") and text.endswith("## Later\n\nkept\n")
    assert "old" not in text and "| hard | default | 3 | 11.00 ± 1.00 |" in text
    assert "1: 10.00 [9.00 - 11.00]" in text and "hard: default vs encoder=lstm" in text


def test_unknown_config_is_refused() -> None:
    with pytest.raises(SystemExit, match="unknown config"):
        seed_spread.config_overrides("lstm")
