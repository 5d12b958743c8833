"""The pre-flight of asrlab-train: warns with the list of problems and trains on (warn), stops
before training (error), or stays silent (off, or clean data)."""

import json
import logging
from pathlib import Path

import pytest
from omegaconf import DictConfig

from asrlab.data.audio import write_audio
from asrlab.data.manifest import ManifestError
from asrlab.model.build import build_datamodule, build_model, build_tokenizer
from asrlab.training.preflight.run import PreflightError, preflight
from asrlab.training.run import train
from helpers import SAMPLE_RATE, TINY_HEADS, compose_train, manifest_overrides, tone

TINY = ["encoder.hidden_size=16", "encoder.num_layers=1", "debug=fast"]
LONG_TEXT = "three three three seven"  # 26 CTC frames; 0.2 s gives 18 before the stride


@pytest.fixture
def infeasible(tiny_synth: dict[str, Path], tmp_path: Path) -> tuple[dict[str, Path], str]:
    """tiny_synth with a 0.2 s utterance of a long transcript added to train; its line id."""
    write_audio(tmp_path / "short.wav", tone(0.2), SAMPLE_RATE)
    train = tmp_path / "train.jsonl"
    lines = tiny_synth["train"].read_text().splitlines()
    folder = tiny_synth["train"].parent
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        entry["audio_filepath"] = str(folder / entry["audio_filepath"])
    entries.append({"audio_filepath": "short.wav", "duration": 0.2, "text": LONG_TEXT})
    train.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return {**tiny_synth, "train": train}, f"{train}:{len(entries)}"


def _preflight(cfg: DictConfig) -> list:
    tokenizer = build_tokenizer(cfg)
    return preflight(cfg, build_datamodule(cfg, tokenizer), build_model(cfg, tokenizer))


def test_warn_lists_the_problem_and_training_goes_on(
    infeasible: tuple[dict[str, Path], str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manifests, line = infeasible
    cfg = compose_train(manifest_overrides(manifests) + TINY, tmp_path)
    assert cfg.preflight == "warn"
    with caplog.at_level(logging.WARNING, logger="asrlab.training.preflight.run"):
        metrics = train(cfg)
    assert "[feasibility] 1 of" in caplog.text
    assert f"id={line}, seconds=0.2, frames=6, needed=26, text={LONG_TEXT}" in caplog.text
    assert metrics["global_step"] > 0


def test_error_stops_the_run_before_training(
    infeasible: tuple[dict[str, Path], str], tmp_path: Path
) -> None:
    manifests, line = infeasible
    cfg = compose_train(manifest_overrides(manifests) + TINY + ["preflight=error"], tmp_path)
    with pytest.raises(PreflightError, match=f"id={line}") as error:
        train(cfg)
    assert "encoder.subsample=3" in str(error.value)
    assert not (tmp_path / "checkpoints").exists()


def test_case_mismatch_is_an_error_and_off_skips_it(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + TINY + ['tokenizer.alphabet="ABCDEFGHIJ"']
    with pytest.raises(PreflightError, match=r"\[coverage\] case mismatch"):
        _preflight(compose_train(overrides + ["preflight=error"], tmp_path))
    assert _preflight(compose_train(overrides + ["preflight=off"], tmp_path)) == []
    with pytest.raises(ValueError, match="preflight must be one of"):
        _preflight(compose_train(overrides + ["preflight=loud"], tmp_path))


def test_clean_data_passes_quietly(
    tiny_synth: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = compose_train(manifest_overrides(tiny_synth) + TINY + ["preflight=error"], tmp_path)
    with caplog.at_level(logging.INFO, logger="asrlab.training.preflight.run"):
        findings = _preflight(cfg)
    assert [(f.check, f.severity) for f in findings] == [("coverage", "ok"), ("feasibility", "ok")]
    assert "pre-flight: transcripts encodable and CTC-feasible" in caplog.text


def test_a_nan_duration_is_named_not_a_crash_and_skippable(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    train = tmp_path / "train.jsonl"
    folder = tiny_synth["train"].parent
    entries = [json.loads(line) for line in tiny_synth["train"].read_text().splitlines()]
    for entry in entries:
        entry["audio_filepath"] = str(folder / entry["audio_filepath"])
    entries[0]["duration"] = float("nan")
    train.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    overrides = manifest_overrides({**tiny_synth, "train": train}) + TINY
    with pytest.raises(ManifestError, match=f"{train}:1: duration must be .* got NaN"):
        _preflight(compose_train(overrides, tmp_path))
    assert _preflight(compose_train([*overrides, "data.on_error=skip"], tmp_path))


@pytest.mark.parametrize(
    ("head", "checks"),
    [
        (TINY_HEADS["ctc_aed"], ["coverage", "feasibility"]),
        (TINY_HEADS["rnnt"], ["coverage", "feasibility"]),  # its auxiliary CTC loss
        ([*TINY_HEADS["rnnt"], "head.ctc_weight=0"], ["coverage"]),
        (TINY_HEADS["aed"], ["coverage"]),
    ],
)
def test_feasibility_is_checked_where_the_loss_has_a_ctc_part(
    infeasible: tuple[dict[str, Path], str], tmp_path: Path, head: list[str], checks: list[str]
) -> None:
    manifests, line = infeasible
    findings = _preflight(compose_train(manifest_overrides(manifests) + TINY + head, tmp_path))
    assert [f.check for f in findings] == checks
    if "feasibility" in checks:
        assert findings[1].severity == "fatal" and findings[1].rows[0]["id"] == line
