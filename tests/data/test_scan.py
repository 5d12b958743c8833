"""asrlab-data: every bad file of a seeded folder is reported with its line and reason, the clean
manifest keeps exactly the good lines, and the statistics are right."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from omegaconf import OmegaConf

from asrlab.cli.data import main as data_main
from asrlab.data.audio import write_audio
from asrlab.data.scan import ScanOptions, build_report, render_markdown, scan, write_outputs
from asrlab.text.tokenizer import CharTokenizer
from asrlab.tools.diagnose.inputs import prepared_manifests, scan_tokenizer
from helpers import SAMPLE_RATE, tone, write_cuts

OPTIONS = ScanOptions(sample_rate=SAMPLE_RATE, max_duration=2.0, histogram_bins=5)
GOOD = ["good0.wav", "good1.wav", "good2.wav", "rate.wav"]  # rate.wav: a warning only
# (file, text, expected severity, expected reason) of every line with an issue, in order.
ISSUES = [
    ("rate.wav", "five", "warning", "sample rate 8000 Hz, expected 16000 Hz: will be resampled"),
    ("corrupt.wav", "eight", "error", "cannot read audio file"),
    ("empty.wav", "nine", "error", "audio file is empty"),
    ("missing.wav", "zero", "error", "audio file not found"),
    ("silent.wav", "six", "error", "silent: RMS -inf dBFS"),
    ("long.wav", "seven", "error", "too long: 3.00 s > max_duration 2 s"),
    ("digits.wav", "route 66", "error", "characters the tokenizer cannot encode: ['6']"),
    ("blank.wav", " ?! ", "error", "empty transcript"),
]


def _seconds(path: Path) -> float:
    """The file's duration, as a manifest lists it; 1.0 for a file without one."""
    try:
        return sf.info(str(path)).duration or 1.0
    except (sf.LibsndfileError, RuntimeError):
        return 1.0


def _write(folder: Path, lines: list[tuple[str, str]], name: str) -> Path:
    """A manifest of (file, text) lines with relative paths and the files' durations."""
    manifest = folder / name
    entries = [
        {"audio_filepath": file, "duration": _seconds(folder / file), "text": text}
        for file, text in lines
    ]
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return manifest


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """Good and bad files; the manifest lists good0-2 first, then ISSUES in order."""
    for name, seconds in [
        ("good0.wav", 0.5),
        ("good1.wav", 1.0),
        ("digits.wav", 0.5),
        ("blank.wav", 0.5),
        ("long.wav", 3.0),
    ]:
        write_audio(tmp_path / name, tone(seconds), SAMPLE_RATE)
    stereo = tone(1.5).numpy()
    sf.write(str(tmp_path / "good2.wav"), np.stack([stereo, stereo], axis=1), SAMPLE_RATE)
    write_audio(tmp_path / "rate.wav", tone(0.75, sample_rate=8000), 8000)
    write_audio(tmp_path / "silent.wav", np.zeros(SAMPLE_RATE // 2), SAMPLE_RATE)
    sf.write(str(tmp_path / "empty.wav"), np.zeros(0), SAMPLE_RATE)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF garbage")
    lines = [("good0.wav", "one two"), ("good1.wav", "Three"), ("good2.wav", "four")]
    return _write(tmp_path, lines + [(file, text) for file, text, *_ in ISSUES], "train.jsonl")


def _report(manifest: Path, options: ScanOptions = OPTIONS) -> tuple[list, dict]:
    scans = scan({"train": manifest}, CharTokenizer(), options, progress=False)
    return scans, build_report(scans, CharTokenizer(), options)


def test_each_issue_is_reported_with_its_line_and_reason(seeded: Path) -> None:
    _, report = _report(seeded)
    issues = report["splits"]["train"]["issues"]
    for number, (issue, (file, _, severity, reason)) in enumerate(
        zip(issues, ISSUES, strict=True), start=4
    ):
        assert issue["where"] == f"{seeded}:{number}"
        assert issue["path"] == str(seeded.parent / file)
        assert issue["severity"] == severity
        assert reason in issue["reason"]
    markdown = render_markdown(report)
    assert all(f"| {seeded}:{number} |" in markdown for number in range(4, 4 + len(ISSUES)))


def test_clean_manifest_holds_exactly_the_good_lines(seeded: Path, tmp_path: Path) -> None:
    scans, report = _report(seeded)
    write_outputs(scans, report, tmp_path / "run")
    clean = [json.loads(line) for line in (tmp_path / "run/clean/train.jsonl").open()]
    assert [entry["audio_filepath"] for entry in clean] == [str(seeded.parent / f) for f in GOOD]
    assert [entry["duration"] for entry in clean] == [0.5, 1.0, 1.5, 0.75]
    assert [entry["text"] for entry in clean] == ["one two", "Three", "four", "five"]
    assert json.loads((tmp_path / "run/report.json").read_text()) == report
    assert (tmp_path / "run/report.md").read_text().startswith("# Data scan")


def test_counts_hours_histogram_rates_and_characters(seeded: Path) -> None:
    _, report = _report(seeded)
    train = report["splits"]["train"]
    assert (train["lines"], train["clean"], train["bad"], train["warned"]) == (11, 4, 7, 1)
    assert train["hours"] == pytest.approx(8.25 / 3600)  # every readable file
    assert train["clean_hours"] == pytest.approx(3.75 / 3600)
    assert train["duration_s"] == {"min": 0.5, "mean": 8.25 / 8, "max": 3.0}
    assert train["histogram"] == {
        "edges": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0],
        "counts": [5, 1, 1, 0, 1],
    }
    assert train["sample_rates"] == {"8000": 1, "16000": 7}
    assert train["channels"] == {"1": 7, "2": 1}
    chars = {c["char"]: (c["count"], c["status"]) for c in train["characters"]}
    assert chars["o"] == (5, "kept")
    assert chars["6"] == (2, "unencodable")
    assert chars["T"] == (1, "normalised") and chars["?"] == (1, "normalised")
    assert train["unencodable"] == {"6": {"lines": 1, "examples": [f"{seeded}:10: route 66"]}}
    assert train["uppercase"] == {"lines": 1, "letters": "T"}
    overall = report["overall"]
    assert overall == {key: value for key, value in train.items() if key in overall}


def test_require_rate_makes_another_rate_an_error(seeded: Path) -> None:
    scans, report = _report(seeded, replace(OPTIONS, require_rate=True))
    assert report["splits"]["train"]["issues"][0]["severity"] == "error"
    assert [Path(entry["audio_filepath"]).name for entry in scans[0].clean] == GOOD[:3]


def test_a_source_that_cannot_be_prepared_exits_non_zero(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "missing.jsonl")
    source = OmegaConf.create(
        {
            "_target_": "asrlab.data.datasets.manifest.Manifests",
            "train": missing,
            "val": missing,
            "test": missing,
        }
    )
    with pytest.raises(SystemExit) as exit_info:
        prepared_manifests(source, ["train"], "scan.splits")
    assert exit_info.value.code == 1
    assert (
        f"cannot prepare data.source (asrlab.data.datasets.manifest.Manifests): "
        f"data.source.train: manifest not found: {missing}" in caplog.text
    )


def test_console_script_writes_reports_and_clean_manifests(seeded: Path, tmp_path: Path) -> None:
    small = _write(tmp_path, [("good0.wav", "one")], "small.jsonl")
    run_dir = tmp_path / "run"
    script = Path(sys.executable).parent / "asrlab-data"
    result = subprocess.run(
        [
            str(script),
            "data=manifest",
            f"data.source.train={seeded}",
            f"data.source.val={small}",
            f"data.source.test={small}",
            "scan.max_duration=2",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train: 11 lines, 7 bad, 1 with warnings" in result.stdout
    assert f"report: {run_dir / 'report.md'}" in result.stdout
    report = json.loads((run_dir / "report.json").read_text())
    assert {split: s["bad"] for split, s in report["splits"].items()} == {
        "train": 7,
        "val": 0,
        "test": 0,
    }
    assert (run_dir / "report.md").is_file()
    for split, lines in [("train", 4), ("val", 1), ("test", 1)]:
        assert len((run_dir / "clean" / f"{split}.jsonl").read_text().splitlines()) == lines


def test_bpe_tokenizer_learns_from_the_train_split(seeded: Path, tmp_path: Path) -> None:
    train = _write(tmp_path, [("good0.wav", "one two"), ("good1.wav", "three")], "t.jsonl")
    cfg = OmegaConf.create(
        {
            "tokenizer": {"_target_": "asrlab.text.bpe.BPETokenizerSpec", "vocab_size": 30},
            "paths": {"output_dir": str(tmp_path / "run")},
        }
    )
    tokenizer = scan_tokenizer(cfg, {"train": train, "val": seeded})
    scans = scan({"val": seeded}, tokenizer, OPTIONS, progress=False)
    reasons = {issue.reason for issue in scans[0].issues if issue.severity == "error"}
    # "route 66" holds characters that "one two three" never taught it.
    assert any("cannot encode: ['6', 'u']" in reason for reason in reasons)
    with pytest.raises(SystemExit):
        scan_tokenizer(cfg, {"val": seeded})


def test_nan_audio_a_wrong_duration_and_a_non_string_text_are_bad_lines(tmp_path: Path) -> None:
    write_audio(tmp_path / "good.wav", tone(0.5), SAMPLE_RATE)
    nan = np.full(SAMPLE_RATE // 2, np.nan, dtype=np.float32)
    sf.write(str(tmp_path / "nan.wav"), nan, SAMPLE_RATE, subtype="FLOAT")
    manifest = tmp_path / "train.jsonl"
    entries = [
        {"audio_filepath": "good.wav", "duration": 0.5, "text": "one"},
        {"audio_filepath": "nan.wav", "duration": 0.5, "text": "two"},
        {"audio_filepath": "good.wav", "duration": 600.0, "text": "three"},
        {"audio_filepath": "good.wav", "duration": 0.5, "text": None},
    ]
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    (result,) = scan({"train": manifest}, CharTokenizer(), OPTIONS, progress=False)
    assert [entry["text"] for entry in result.clean] == ["one"]
    assert (result.stats.lines, result.stats.bad) == (4, 3)
    reasons = {issue.where: issue.reason for issue in result.issues}
    assert reasons == {
        f"{manifest}:2": f"audio file has {SAMPLE_RATE // 2} NaN or infinite sample(s): "
        f"{tmp_path / 'nan.wav'}",
        f"{manifest}:3": "the manifest says 600.000 s but the file has 0.500 s "
        "(tolerance 10%, at least 0.1 s)",
        f"{manifest}:4": "text must be a string, got null",
    }


def test_lhotse_data_is_refused_with_a_named_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    cuts = write_cuts(tmp_path / "cuts", ["one", "two"])
    lhotse = ["data=lhotse", *(f"data.source.{s}={cuts}" for s in ("train", "val", "test"))]
    monkeypatch.setattr(sys, "argv", ["asrlab-data", *lhotse, f"hydra.run.dir={tmp_path}"])
    with pytest.raises(SystemExit):
        data_main()
    assert "asrlab-data scans the audio files of JSONL manifests; data=lhotse" in (
        capsys.readouterr().out
    )
