"""asrlab-doctor: each check flags its seeded problem (a case mismatch, an infeasible utterance,
bad audio, an all-blank model, a model that cannot learn), and a healthy setup passes."""

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from torch.optim import SGD
from torch.optim.lr_scheduler import ConstantLR

from asrlab.data.audio import read_audio, write_audio
from asrlab.data.collate import collate
from asrlab.data.dataset import make_example
from asrlab.data.manifest import Utterance, read_manifest
from asrlab.data.scan import ScanOptions
from asrlab.decoders.greedy import GreedyDecoder
from asrlab.model.augment.features import Compose
from asrlab.model.build import build_model
from asrlab.model.encoders.dnn import DNNEncoder
from asrlab.model.frontends import LogMel
from asrlab.model.heads.ctc import CTCHead
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import CharTokenizer
from asrlab.tools.diagnose.audio import audio_check
from asrlab.tools.diagnose.run import diagnose
from asrlab.training.compose import compose_config
from asrlab.training.preflight.coverage import EMPTY, coverage
from asrlab.training.preflight.feasibility import feasibility, stride_setting
from asrlab.training.preflight.findings import worst
from helpers import SAMPLE_RATE, manifest_overrides, tone, write_cuts

LOWER = "abcdefghijklmnopqrstuvwxyz' "
UPPER = LOWER.upper()
QUICK = ["doctor.audio=false"]


def compose_doctor(overrides: list[str], run_dir: Path) -> DictConfig:
    return compose_config(
        overrides, run_dir, root_dir=run_dir, data_dir=run_dir / "data", config_name="doctor"
    )


def _utterances(*texts: str, seconds: float = 1.0) -> dict[str, list[Utterance]]:
    """One utterance per transcript, each `seconds` long, at lines m.jsonl:1, 2, ..."""
    lines = [Utterance(f"{i}.wav", seconds, t, f"m.jsonl:{i + 1}") for i, t in enumerate(texts)]
    return {"train": lines}


def _needed(text: str) -> int:
    """CTC's fewest frames for a character transcript: its characters plus repeated pairs."""
    return len(text) + sum(a == b for a, b in zip(text, text[1:], strict=False))


def test_healthy_setup_passes_every_check(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    cfg = compose_doctor(manifest_overrides(tiny_synth), tmp_path)
    findings = diagnose(cfg, progress=False)
    assert [(f.check, f.severity) for f in findings] == [
        ("coverage", "ok"),
        ("feasibility", "ok"),
        ("audio", "ok"),
    ]
    lines = sum(len(read_manifest(path)) for path in tiny_synth.values())
    assert f"all {lines} transcripts are encodable" in findings[0].summary


def test_case_mismatch_is_named_with_its_fix(tiny_synth: dict[str, Path]) -> None:
    utterances = {split: read_manifest(path) for split, path in tiny_synth.items()}
    finding = coverage(utterances, CharTokenizer(UPPER))
    assert finding.severity == "fatal"
    assert finding.summary.startswith("case mismatch")
    letters = {c for utts in utterances.values() for u in utts for c in u.text if c.isalpha()}
    assert {row["char"] for row in finding.rows} == {repr(c) for c in letters}
    assert all(row["alphabet has"] == repr(eval(row["char"]).upper()) for row in finding.rows)
    assert f"tokenizer.alphabet={LOWER!r}" in finding.fix
    assert coverage(utterances, CharTokenizer(LOWER)).severity == "ok"


def test_upper_case_transcripts_are_lower_cased_not_a_mismatch() -> None:
    finding = coverage(_utterances("Three ONE", "four"), CharTokenizer(LOWER))
    assert finding.severity == "ok"
    assert "1 with upper-case letters" in finding.summary


def test_other_characters_and_empty_transcripts_are_not_a_case_mismatch() -> None:
    finding = coverage(_utterances("route 66", " ?! ", "Route six"), CharTokenizer(LOWER))
    assert finding.severity == "fatal"
    assert "case mismatch" not in finding.summary
    assert [(row["char"], row["lines"]) for row in finding.rows] == [("'6'", 1), (EMPTY, 1)]
    assert "m.jsonl:1: route 66" in finding.rows[0]["examples"]
    assert "add them to tokenizer.alphabet" in finding.fix


def test_alphabet_entries_that_normalisation_never_yields_are_a_warning() -> None:
    finding = coverage(_utterances("one"), CharTokenizer(LOWER + "X-"))
    assert finding.severity == "warning"
    assert "'X-'" in finding.summary


def _feasibility(utterances: dict[str, list[Utterance]], stride: int):
    """With a model of LogMel features and an encoder of `stride` (T' = ceil(T / stride))."""
    tokenizer, encoder = CharTokenizer(), DNNEncoder(80, 4, 1, context=0, subsample=stride)
    head = CTCHead(4, tokenizer, GreedyDecoder)
    model = ASRModel(LogMel(), Compose([]), Compose([]), encoder, head, tokenizer, SGD, ConstantLR)
    return feasibility(utterances, model, SAMPLE_RATE, "encoder.k=3")


def test_infeasible_utterances_are_listed_with_frames_needed_and_fix() -> None:
    long_text = " ".join(["three"] * 7)  # 41 characters, 7 repeated pairs
    utterances = _utterances("one two", long_text, seconds=1.0)
    finding = _feasibility(utterances, stride=3)
    assert finding.severity == "fatal"
    # 25 ms frames every 10 ms over 1 s: 98 frames, 33 after a stride of 3.
    feature_frames = (SAMPLE_RATE - 400) // 160 + 1
    assert finding.rows == [
        {
            "split": "train",
            "id": "m.jsonl:2",
            "seconds": 1.0,
            "frames": -(-feature_frames // 3),
            "needed": _needed(long_text),
            "text": long_text,
        }
    ]
    largest = int(re.search(r"stride of at most (\d+) \(now encoder.k=3\)", finding.fix)[1])
    assert _feasibility(utterances, stride=largest).severity == "ok"
    assert _feasibility(utterances, stride=largest + 1).severity == "fatal"


def test_too_short_even_at_stride_one_names_bpe_or_dropping() -> None:
    finding = _feasibility(_utterances("three three three seven", seconds=0.2), stride=3)
    assert finding.rows[0]["needed"] > (0.2 * SAMPLE_RATE - 400) // 160 + 1
    assert finding.fix.startswith("1 of them are too short even at stride 1")
    assert "tokenizer=bpe" in finding.fix and "drop them" in finding.fix


@pytest.mark.parametrize(
    ("encoder", "setting"),
    [
        ("gru", "encoder.subsample=3"),
        ("crnn", "encoder.time_strides=[2, 1]"),
        ("conformer", "encoder.stride=4"),
        ("quartznet", "encoder.stride=2"),
    ],
)
def test_frames_are_what_the_model_outputs(
    encoder: str, setting: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    cfg = compose_doctor(manifest_overrides(tiny_synth) + [f"encoder={encoder}"], tmp_path)
    model = build_model(cfg, CharTokenizer()).eval()
    utterances = read_manifest(tiny_synth["val"])[:3]
    tokenizer = CharTokenizer()
    batch = collate(
        [make_example(u, tokenizer, read_audio(u.audio_filepath, SAMPLE_RATE)) for u in utterances]
    )
    with torch.no_grad():
        _, lengths = model(batch.waves, batch.wave_lengths)
    samples = torch.tensor([round(u.duration * SAMPLE_RATE) for u in utterances])
    assert model.output_frames(samples).tolist() == lengths.tolist()
    assert stride_setting(model.encoder, cfg.encoder) == setting


def test_audio_outliers_and_unreadable_files(tmp_path: Path) -> None:
    entries = []
    for i, seconds in enumerate([0.9, 0.95, 1.0, 1.0, 1.05, 1.1]):
        write_audio(tmp_path / f"ok{i}.wav", tone(seconds), SAMPLE_RATE)
        entries.append((f"ok{i}.wav", seconds))
    write_audio(tmp_path / "rate.wav", tone(1.0, sample_rate=8000), 8000)
    write_audio(tmp_path / "long.wav", tone(6.0), SAMPLE_RATE)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF garbage")
    entries += [("rate.wav", 1.0), ("long.wav", 6.0), ("corrupt.wav", 1.0), ("ok0.wav", 2.0)]
    utterances = {
        "train": [
            Utterance(str(tmp_path / f), s, "one", f"m.jsonl:{i + 1}")
            for i, (f, s) in enumerate(entries)
        ]
    }
    finding = audio_check(utterances, ScanOptions(sample_rate=SAMPLE_RATE), 3.0, progress=False)
    assert finding.severity == "fatal"
    problems = {(row["id"], row["problem"].split(":")[0]) for row in finding.rows}
    assert problems == {
        ("m.jsonl:7", "sample rate 8000 Hz, expected 16000 Hz"),
        ("m.jsonl:8", "duration outlier"),
        ("m.jsonl:9", "cannot read audio file " + str(tmp_path / "corrupt.wav")),
        (
            "m.jsonl:10",
            "the manifest says 2.000 s but the file has 0.900 s (tolerance 10%, at least 0.1 s)",
        ),
    }
    assert "sample rates 8000 Hz x 1, 16000 Hz x 8" in finding.summary
    assert "replace or remove the unreadable files" in finding.fix


def _checkpoint_forcing(tiny_run: Path, token: int, out: Path) -> Path:
    """tiny_run's last checkpoint with a CTC head whose best token is `token` on every frame."""
    checkpoint = torch.load(tiny_run / "checkpoints" / "last.ckpt", weights_only=True)
    weight = checkpoint["state_dict"]["head.linear.weight"]
    checkpoint["state_dict"]["head.linear.weight"] = torch.zeros_like(weight)
    bias = torch.full((len(weight),), -50.0)
    bias[token] = 50.0
    checkpoint["state_dict"]["head.linear.bias"] = bias
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, out)
    return out


def test_an_all_blank_model_is_fatal(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + QUICK
    severities = {}
    for name, token in [("blank", 0), ("letter", 1)]:
        checkpoint = _checkpoint_forcing(tiny_run, token, tmp_path / "checkpoints" / f"{name}.ckpt")
        cfg = compose_doctor(overrides + [f"doctor.checkpoint={checkpoint}"], tmp_path / name)
        finding = diagnose(cfg, progress=False)[-1]
        assert finding.check == "blank"
        severities[name] = (finding.severity, finding.summary)
    assert severities["blank"][0] == "fatal" and "collapsed to all-blank" in severities["blank"][1]
    assert "blank on 100.0% of" in severities["blank"][1]
    val = len(read_manifest(tiny_synth["val"]))
    assert f"{val} of {val} utterances are all blank" in severities["blank"][1]
    assert severities["letter"][0] == "ok" and "blank on 0.0% of" in severities["letter"][1]


def test_overfit_drives_one_batch_to_zero_loss_and_wer(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    model = ["encoder.hidden_size=64", "encoder.num_layers=1", "encoder.dropout=0"]
    overfit = ["optimizer.lr=0.03", "doctor.overfit_utterances=2"]
    overrides = manifest_overrides(tiny_synth) + QUICK + model + overfit
    learnt = diagnose(compose_doctor(overrides + ["doctor.overfit_steps=60"], tmp_path), False)[-1]
    assert (learnt.check, learnt.severity) == ("overfit", "ok"), learnt.summary
    before, after = map(float, re.search(r"loss ([\d.]+) -> ([\d.]+)", learnt.summary).groups())
    assert after <= 0.05 < before
    assert learnt.summary.endswith("-> 0.0%")

    barely = diagnose(compose_doctor(overrides + ["doctor.overfit_steps=2"], tmp_path), False)[-1]
    assert barely.severity == "fatal" and barely.rows
    texts = {u.text for u in read_manifest(tiny_synth["train"])[:2]}
    assert {row["reference"] for row in barely.rows} <= texts


def test_console_script_exits_1_on_a_fatal_finding_and_writes_reports(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    script = Path(sys.executable).parent / "asrlab-doctor"
    result = subprocess.run(
        [
            str(script),
            *manifest_overrides(tiny_synth),
            *QUICK,
            'tokenizer.alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ\' "',
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "[coverage] case mismatch" in result.stdout + result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "fatal"
    assert [f["check"] for f in report["findings"]] == ["coverage", "feasibility"]
    assert "## coverage: fatal" in (run_dir / "report.md").read_text()
    assert report["findings"][1]["severity"] == "ok"


def test_lhotse_data_gets_its_transcript_checks_and_a_named_refusal_of_the_audio_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cuts = write_cuts(tmp_path / "cuts", ["one", "two", "three", "four"])
    lhotse = ["data=lhotse", *(f"data.source.{s}={cuts}" for s in ("train", "val", "test"))]
    with pytest.raises(SystemExit), caplog.at_level(logging.ERROR):
        diagnose(compose_doctor(lhotse, tmp_path / "audio"), progress=False)
    assert "asrlab-doctor data=lhotse checks the cuts' transcripts only" in caplog.text
    findings = diagnose(compose_doctor([*lhotse, *QUICK], tmp_path / "quick"), progress=False)
    assert findings and worst(findings) != "fatal"
