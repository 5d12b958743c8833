"""asrlab-eval: metrics that agree with torchmetrics and with the training run's own test,
per-utterance counts that add up, confusions, report.md; clear errors for bad input."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf
from torchmetrics.text import CharErrorRate, WordErrorRate

import asrlab
import asrlab.tools.evaluation.run as eval_run
from asrlab.cli.eval import main
from asrlab.data.manifest import ManifestError, read_manifest, write_manifest
from asrlab.decoders.lm import build_arpa
from asrlab.decoders.resolve import for_trained_run
from asrlab.model.build import build_datamodule
from asrlab.tools.evaluation.inputs import EvaluationError, data_config
from asrlab.tools.evaluation.run import evaluate
from asrlab.training.checkpoint import load_model
from asrlab.training.compose import compose_config
from helpers import manifest_overrides

CONF = Path(asrlab.__file__).parent / "conf"


def _eval(overrides: list[str], out_dir: Path) -> dict[str, Any]:
    return evaluate(compose_config(overrides, out_dir, config_name="eval"))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _best_checkpoint(run: Path) -> Path:
    return run / json.loads((run / "metrics.json").read_text())["best_checkpoint"]


def test_two_decoders_on_one_pass_agree_with_torchmetrics_and_training(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes = []
    compute = eval_run.compute_posteriors
    monkeypatch.setattr(
        eval_run, "compute_posteriors", lambda *args: passes.append(args) or compute(*args)
    )
    overrides = [
        f"ckpt_path={_best_checkpoint(tiny_run)}",
        "decoders=[greedy,beam]",
        "decoders.beam.beam_size=4",
        "report.top=1000",  # every confusion, to add them up
    ]
    metrics = _eval(overrides, tmp_path)
    assert len(passes) == 1
    decoders = metrics["decoders"]
    assert list(decoders) == ["greedy", "beam"]
    assert decoders["beam"]["decoder"]["beam_size"] == 4

    # The training run tested its best checkpoint with greedy decoding on the same split.
    trained = json.loads((tiny_run / "metrics.json").read_text())
    for name in ("wer", "cer", "acc"):
        assert decoders["greedy"][name] == pytest.approx(trained[f"test_{name}"], abs=1e-6)

    confusions = json.loads((tmp_path / "confusions.json").read_text())
    report = (tmp_path / "report.md").read_text()
    assert "| decoder | WER | CER | exact | decode s | decode RTF |" in report
    for name, summary in decoders.items():
        lines = _lines(tmp_path / "utterances" / f"{name}.jsonl")
        assert len(lines) == summary["utterances"] == metrics["utterances"] > 0
        hyps = [line["hypothesis"] for line in lines]
        refs = [line["reference"] for line in lines]
        assert summary["wer"] == pytest.approx(float(WordErrorRate()(hyps, refs)))
        assert summary["cer"] == pytest.approx(float(CharErrorRate()(hyps, refs)))
        exact = sum(h == r for h, r in zip(hyps, refs, strict=True))
        assert summary["acc"] == pytest.approx(exact / len(refs))
        for line in lines:
            kinds = line["substitutions"] + line["insertions"] + line["deletions"]
            assert line["word_errors"] == kinds
        errors = sum(line["word_errors"] for line in lines)
        assert errors / sum(line["words"] for line in lines) == pytest.approx(summary["wer"])
        edits = sum(line["char_edits"] for line in lines)
        assert edits / sum(line["chars"] for line in lines) == pytest.approx(summary["cer"])
        for kind in ("substitutions", "insertions", "deletions"):
            counted = sum(entry["count"] for entry in confusions[name][kind])
            assert counted == sum(line[kind] for line in lines)
        assert summary["rtf"] == pytest.approx(summary["decode_seconds"] / summary["audio_seconds"])

        wer = f"{100 * summary['wer']:.2f}%"
        assert f"| {name} | {wer} |" in report
        assert f"## {name}" in report
        if errors:
            assert "| utterance | word errors | words | alignment |" in report


def test_val_split_hypotheses_are_the_models_transcripts(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    checkpoint = tiny_run / "checkpoints" / "last.ckpt"
    metrics = _eval([f"ckpt_path={checkpoint}", "split=val"], tmp_path)
    assert metrics["split"] == "val"
    hyps = {
        line["id"]: line["hypothesis"]
        for line in _lines(tmp_path / "utterances" / "checkpoint.jsonl")
    }
    assert sorted(hyps) == sorted(u.where for u in read_manifest(tiny_synth["val"]))

    model, cfg = load_model(checkpoint)  # trained with greedy decoding, the default here
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.setup("validate")
    with torch.no_grad():
        for batch in datamodule.eval_dataloader("val"):
            transcripts = model.transcribe(batch.waves, batch.wave_lengths)
            assert [hyps[i] for i in batch.ids] == transcripts


def test_other_data_with_an_unencodable_transcript_fails_or_is_skipped(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    utterances = read_manifest(tiny_synth["test"])
    entries = [
        {"audio_filepath": u.audio_filepath, "duration": u.duration, "text": u.text}
        for u in utterances
    ]
    entries[1]["text"] += " 7"  # digits are not in the character tokenizer's alphabet
    other = write_manifest(tmp_path / "other.jsonl", entries)
    checkpoint = f"ckpt_path={tiny_run / 'checkpoints' / 'last.ckpt'}"
    # The run's own data (data=manifest) with another test manifest; then data=manifest anew.
    with pytest.raises(ManifestError, match=f"{other}:2: .*'7'"):
        _eval([checkpoint, f"+data.source.test={other}"], tmp_path / "raise")

    overrides = [checkpoint, *manifest_overrides({**tiny_synth, "test": other})]
    metrics = _eval([*overrides, "data.on_error=skip"], tmp_path / "skip")
    assert metrics["utterances"] == len(utterances) - 1
    assert metrics["skipped_utterances"] == 1
    (skipped,) = _lines(tmp_path / "skip" / "skipped.jsonl")
    assert skipped["where"] == f"{other}:2"


def test_another_data_option_is_read_as_the_model_reads(tiny_run: Path, tmp_path: Path) -> None:
    _, run_cfg = load_model(tiny_run / "checkpoints" / "last.ckpt")
    cfg = compose_config(["data=fsdd"], tmp_path, config_name="eval")
    assert cfg.data.sample_rate != run_cfg.features.sample_rate  # fsdd's own rate
    data = data_config(cfg, run_cfg).data
    assert data.sample_rate == run_cfg.features.sample_rate
    assert "hop_ms" not in data  # the model's frontend counts frames
    assert data.report_dir == str(tmp_path)
    assert data.source._target_ == cfg.data.source._target_


def test_lm_train_decodes_with_the_run_folders_lm_or_builds_it_as_decode_does(
    tiny_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    checkpoint = Path(shutil.copy(tiny_run / "checkpoints" / "last.ckpt", run / "checkpoints"))
    overrides = [f"ckpt_path={checkpoint}", "decoders=[beam_lm]", "decoders.beam_lm.beam_size=4"]
    # Trained without an LM: the one asrlab-decode builds from the training transcripts.
    metrics = _eval(overrides, tmp_path / "without")
    _, cfg = load_model(checkpoint)
    built = Path(for_trained_run(OmegaConf.create({"lm": "train"}), "d", checkpoint, cfg).lm)
    assert built.parent == run / "logprobs" and built.is_file()
    assert metrics["decoders"]["beam_lm"]["decoder"]["lm"] == str(built)

    texts = (u.text for u in read_manifest(cfg.data.source.train))
    build_arpa(texts, run / "lm.arpa", order=cfg.lm.order, unit=cfg.lm.unit)
    metrics = _eval(overrides, tmp_path / "with")
    assert metrics["decoders"]["beam_lm"]["decoder"]["lm"] == str(run / "lm.arpa")


def test_bad_checkpoint_split_or_decoders_are_named(tiny_run: Path, tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="no checkpoint given: asrlab-eval ckpt_path="):
        _eval([], tmp_path)
    missing = tmp_path / "missing.ckpt"
    with pytest.raises(EvaluationError, match=f"ckpt_path={missing}: no such file"):
        _eval([f"ckpt_path={missing}"], tmp_path)
    not_a_checkpoint = tmp_path / "notes.ckpt"
    not_a_checkpoint.write_text("not a checkpoint")
    with pytest.raises(EvaluationError, match=f"ckpt_path={not_a_checkpoint}: refused to load"):
        _eval([f"ckpt_path={not_a_checkpoint}"], tmp_path)
    checkpoint = f"ckpt_path={tiny_run / 'checkpoints' / 'last.ckpt'}"
    with pytest.raises(EvaluationError, match="split=dev: choose one of train, val, test"):
        _eval([checkpoint, "split=dev"], tmp_path)
    with pytest.raises(EvaluationError, match=r"no decoders: give decoders=\[greedy"):
        _eval([checkpoint, "decoders=[]"], tmp_path)


def test_every_decoder_option_is_a_decoders_entry(tmp_path: Path) -> None:
    options = sorted(p.stem for p in (CONF / "decoder").glob("*.yaml"))
    cfg = compose_config([f"decoders=[{','.join(options)}]"], tmp_path, config_name="eval")
    assert list(cfg.decoders) == options
    for option in options:
        assert cfg.decoders[option] == OmegaConf.load(CONF / "decoder" / f"{option}.yaml")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "asrlab-eval"
    env = {**os.environ, "ASRLAB_DATA_DIR": str(cwd / "data")}
    return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_console_script_writes_its_run_folder(
    tiny_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "eval"
    checkpoint = tiny_run / "checkpoints" / "last.ckpt"
    script = Path(sys.executable).parent / "asrlab-eval"
    result = subprocess.run(
        [str(script), f"ckpt_path={checkpoint}", "split=val", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={**os.environ, "ASRLAB_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    utterances = len(read_manifest(tiny_synth["val"]))
    assert "checkpoint: WER" in result.stdout
    assert f"on {utterances} val utterances" in result.stdout
    for name in ("metrics.json", "confusions.json", "report.md", "utterances/checkpoint.jsonl"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / ".hydra" / "config.yaml").is_file()


def test_entry_point_exits_with_the_message_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing.ckpt"
    cfg = compose_config([f"ckpt_path={missing}"], tmp_path, config_name="eval")
    with pytest.raises(SystemExit) as exit_info:
        main.__wrapped__(cfg)  # the function under @hydra.main
    assert exit_info.value.code == 1 and exit_info.value.__cause__ is None
    assert f"ckpt_path={missing}: no such file" in caplog.text
