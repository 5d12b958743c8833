"""bench/heads.py: resumes finished runs, checks the targets, rotates the FSDD folds; --smoke
trains every head x encoder pair on tiny data through asrlab-train."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import write_recordings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import heads  # noqa: E402

FAKE_SPEAKERS = ["anna", "ben", "carl"]


def finish(folder: Path, wer: float, cer: float, seconds: float) -> None:
    folder.mkdir(parents=True)
    metrics = {"test_wer": wer, "test_cer": cer, "num_params": 1000, "train_seconds": seconds}
    metrics.update(epochs=4, decode_rtf=0.03, decode_rtf_encoder=0.01, decode_rtf_search=0.02)
    (folder / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """bench/results under tmp_path; what main() writes, instead of writing it."""
    written: dict = {}
    monkeypatch.setattr(heads, "RESULTS", tmp_path)
    monkeypatch.setattr(heads, "write_result", lambda name, result: written.update({name: result}))
    return written


def test_folds_rotate_the_test_speaker_and_validate_on_the_next() -> None:
    folds = heads.tasks(["fsdd"], ["a", "b", "c"], 3, Path("fsdd"))
    assert list(folds) == ["fsdd_a", "fsdd_b", "fsdd_c"]
    assert folds["fsdd_c"][2:] == [
        "data.source.sources.fsdd.test_speakers=[c]",
        "data.source.sources.fsdd.val_speakers=[a]",
    ]
    assert list(heads.configs("fsdd_a", ["ctc"], ["gru"], [], Path("runs"))) == [
        "fsdd_si",
        "ctc_gru",
    ]
    assert heads.configs("synth_digits", ["rnnt"], ["conformer"], [], Path("runs")) == {
        "rnnt_conformer": ["head=rnnt", "encoder=conformer"]
    }


def test_the_gru_heads_train_to_their_5_minute_budgets_on_synth_digits_only() -> None:
    synth = heads.configs("synth_digits", heads.HEADS, ["gru"], [], Path("runs"))
    assert synth["ctc_gru"] == ["head=ctc", "encoder=gru"]
    assert (
        synth["rnnt_gru"][2:]
        == synth["ctc_aed_gru"][2:]
        == ["callbacks.timer.duration=00:00:04:50"]
    )
    assert synth["aed_gru"][2:] == ["trainer.max_epochs=7"]
    fsdd = heads.configs("fsdd_a", heads.HEADS, ["gru"], [], Path("runs"))
    assert all(len(overrides) == 2 for c, overrides in fsdd.items() if c != "fsdd_si")


def test_a_ctc_init_encoder_trains_its_ctc_run_first_and_starts_the_others_from_it() -> None:
    grid = heads.configs("t", ["aed", "ctc"], ["gru", "conformer"], ["conformer"], Path("runs"))
    assert list(grid) == ["aed_gru", "ctc_conformer", "aed_conformer_from_ctc", "ctc_gru"]
    assert grid["aed_conformer_from_ctc"] == [
        "head=aed",
        "encoder=conformer",
        f"init_from={Path('runs/ctc_conformer/checkpoints/last.ckpt')}",
        "init.modules=[encoder]",
    ]


def test_finished_runs_are_skipped_and_scored_against_the_targets(
    tmp_path: Path, results: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained = []
    failing = subprocess.CompletedProcess([], returncode=1)
    monkeypatch.setattr(heads.subprocess, "run", lambda cmd, **_: trained.append(cmd) or failing)
    runs = tmp_path / "heads"
    finish(runs / "synth_digits" / "ctc_gru", 0.03, 0.01, 200.0)
    finish(runs / "synth_digits" / "aed_gru", 0.05, 0.03, 200.0)  # CER above 2%
    finish(runs / "synth_digits" / "ctc_conformer", 0.03, 0.01, 150.0)
    finish(runs / "synth_digits" / "aed_conformer_from_ctc", 0.03, 0.01, 200.0)  # 350 s in all
    for fold, (baseline, ctc_gru) in zip(
        ["fsdd_anna", "fsdd_ben"], [(0.10, 0.08), (0.20, 0.18)], strict=True
    ):
        finish(runs / fold / "fsdd_si", baseline, 0.0, 100.0)
        finish(runs / fold / "ctc_gru", ctc_gru, 0.0, 100.0)
    finish(runs / "fsdd_anna" / "aed_gru", 0.01, 0.0, 100.0)  # fsdd_ben's failed: not averaged
    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)
    heads.main(
        ["--heads", "ctc", "aed", "--encoders", "gru", "conformer", "--speakers", *FAKE_SPEAKERS]
        + ["--folds", "2", "--fsdd", str(tmp_path / "fsdd")]
    )
    # The CTC runs fail, so the runs that would start from them wait.
    assert [cmd[-1] for cmd in trained] == [
        f"hydra.run.dir={runs / fold / config}"
        for fold, config in [
            ("fsdd_anna", "ctc_conformer"),
            ("fsdd_ben", "ctc_conformer"),
            ("fsdd_ben", "aed_gru"),
        ]
    ]
    result = results["heads"]
    assert result["synth_digits"]["meets_target"] == {
        "ctc_gru": True,
        "aed_gru": False,
        "ctc_conformer": True,
        "aed_conformer_from_ctc": False,
    }
    over_budget = {"task": "synth_digits", "config": "x", "test_cer": 0.01, "train_seconds": 301}
    assert heads.synth_targets([over_budget]) == {"x": False}
    fsdd = result["fsdd"]
    assert fsdd["folds"] == ["fsdd_anna", "fsdd_ben"]
    assert fsdd["mean_test_wer"] == pytest.approx({"fsdd_si": 0.15, "ctc_gru": 0.13})
    assert fsdd["best_pair"] == "ctc_gru" and fsdd["beats_baseline"] is True
    row = result["runs"][0]
    assert (row["task"], row["config"], row["train_seconds_per_epoch"]) == (
        "synth_digits",
        "ctc_gru",
        50.0,
    )
    assert row["decode_rtf"] == 0.03


def test_missing_fsdd_is_refused_in_one_line(tmp_path: Path, results: dict) -> None:
    with pytest.raises(SystemExit):
        heads.main(["--tasks", "fsdd", "--fsdd", str(tmp_path / "nowhere")])
    assert not results


@pytest.mark.slow
def test_smoke_trains_every_pair(
    tmp_path: Path, results: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASRLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    )
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    write_recordings(tmp_path / "fsdd" / "recordings", FAKE_SPEAKERS, digits=(0, 7), takes=range(4))
    heads.main(["--smoke", "--tasks", "synth_digits"])
    fsdd = ["--tasks", "fsdd", "--heads", "rnnt", "--encoders", "conformer", "--folds", "1"]
    heads.main(["--smoke", *fsdd, "--speakers", *FAKE_SPEAKERS, "--fsdd", str(tmp_path / "fsdd")])
    pairs = [f"{h}_gru" for h in heads.HEADS] + ["ctc_conformer"]
    pairs += [f"{h}_conformer_from_ctc" for h in heads.HEADS[1:]]
    synth = results["heads_smoke"]  # the second call's result replaced the first's
    assert [(r["task"], r["config"]) for r in synth["runs"]] == [
        ("fsdd_anna", "fsdd_si"),
        ("fsdd_anna", "ctc_conformer"),
        ("fsdd_anna", "rnnt_conformer_from_ctc"),
    ]
    started = synth["runs"][2]
    assert started["init_seconds"] == synth["runs"][1]["train_seconds"] > 0
    done = sorted(
        p.parent.name for p in (tmp_path / "heads_smoke" / "synth_digits").glob("*/metrics.json")
    )
    assert done == sorted(pairs)
    for row in synth["runs"]:
        assert row["decode_rtf"] > 0 and row["num_params"] > 0
