"""bench/fsdd_speakers.py: reuses finished folds and reports every fold finished in --out."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import fsdd_speakers  # noqa: E402


def finish(folder: Path, wer: float) -> None:
    folder.mkdir(parents=True)
    metrics = {"test_wer": wer, "test_cer": wer / 2, "train_seconds": 400.0}
    (folder / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """What main() writes, instead of writing it; training would fail the test."""
    result: dict = {}
    monkeypatch.setattr(fsdd_speakers, "write_result", lambda name, r: result.update({name: r}))
    monkeypatch.setattr(fsdd_speakers.subprocess, "run", pytest.fail)
    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)
    return result


def test_folds_finished_one_at_a_time_add_up(tmp_path: Path, written: dict) -> None:
    out = tmp_path / "variant"
    for speaker, wer in zip(fsdd_speakers.SPEAKERS[:4], [0.1, 0.12, 0.1, 0.12], strict=True):
        finish(out / speaker, wer)
    argv = ["theo", "--out", str(out), "--fsdd", str(tmp_path / "fsdd")]
    result = fsdd_speakers.main(argv)
    assert written == {"variant": result}
    assert list(result["per_speaker"]) == fsdd_speakers.SPEAKERS[:4]
    assert result["per_speaker"]["george"]["val_speaker"] == "jackson"
    assert result["mean_test_wer"] == pytest.approx(0.11)
    assert result["missing"] == ["lucas"]
    assert result["meets_target"] is False  # low enough, but a fold is missing
    finish(out / "lucas", 0.1)
    result = fsdd_speakers.main(["lucas", *argv[1:]])
    assert result["missing"] == []
    assert result["per_speaker"]["lucas"]["val_speaker"] == "theo"
    assert result["meets_target"] is True
