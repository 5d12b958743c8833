"""End to end: the real config, tiny synthesised data, the real entry point."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from asrlab.data.manifest import ManifestError
from asrlab.text.tokenizer import tokenizer_from_state_dict
from asrlab.tools.diagnose.run import diagnose
from asrlab.tools.exporting.acoustic import AcousticModel
from asrlab.tools.inference.decoding import choose_decoder
from asrlab.training.checkpoint import load_model, read_checkpoint
from asrlab.training.compose import compose_config
from asrlab.training.run import train
from asrlab.training.utterances import TEST_UTTERANCES, UtteranceCounts
from helpers import compose_train, manifest_overrides, write_recordings

TINY_MODEL = ["encoder.hidden_size=64", "encoder.num_layers=2", "encoder.dropout=0.0"]


def _subset(manifest: Path, count: int, out: Path) -> Path:
    """The first `count` lines of a manifest, written beside it (so relative paths hold)."""
    path = manifest.parent / out.name
    path.write_text("".join(manifest.read_text().splitlines(keepends=True)[:count]))
    return path


def test_tiny_model_overfits_a_few_utterances(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    few = _subset(tiny_synth["train"], 4, tmp_path / "few.jsonl")
    cfg = compose_train(
        manifest_overrides({"train": few, "val": few, "test": few})
        + TINY_MODEL
        + ["augment=none", "scheduler=none", "optimizer.lr=0.005", "optimizer.weight_decay=0"]
        + ["trainer.max_epochs=120", "trainer.check_val_every_n_epoch=40", "data.batch_size=4"],
        tmp_path,
    )
    metrics = train(cfg)
    events = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    losses = [e.value for e in events.Scalars("train/loss")]
    assert losses[-1] < 0.1 * losses[0]
    assert metrics["test_wer"] == 0.0 and metrics["test_cer"] == 0.0


def test_run_folder_holds_metrics_checkpoints_and_events_and_resumes(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + TINY_MODEL
    # A constant schedule, so that a longer resumed run keeps a valid learning-rate schedule.
    overrides += ["trainer.max_epochs=1", "trainer.log_every_n_steps=1", "scheduler=none"]
    metrics = train(compose_train(overrides, tmp_path))

    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    for key in ("test_wer", "test_cer", "num_params", "train_seconds", "seed", "asrlab_version"):
        assert key in saved
    assert saved["test_wer"] >= 0.0 and saved["test_cer"] >= 0.0  # insertions can exceed 1
    low, high = saved["test_wer_ci95"]
    assert low <= saved["test_wer"] <= high
    assert "git_commit" in saved and saved["epochs"] == 1
    utterances = UtteranceCounts.load(tmp_path / TEST_UTTERANCES)
    assert len(utterances) == len(tiny_synth["test"].read_text().splitlines())
    assert set(utterances.ids) >= {f"{tiny_synth['test'].name}:1"}
    wer = utterances.word_errors.sum() / utterances.words.sum()
    cer = utterances.char_errors.sum() / utterances.chars.sum()
    assert (wer, cer) == pytest.approx((saved["test_wer"], saved["test_cer"]), abs=1e-6)
    assert saved["decode_rtf_encoder"] > 0 and saved["decode_rtf_search"] > 0
    rtf = saved["decode_rtf_encoder"] + saved["decode_rtf_search"]
    assert saved["decode_rtf"] == pytest.approx(rtf)

    last = tmp_path / "checkpoints" / "last.ckpt"
    checkpoint = read_checkpoint(last)
    assert checkpoint["tokenizer"]["type"] == "char"
    assert checkpoint["asrlab_config"]["encoder"]["hidden_size"] == 64

    events = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    tags = events.Tags()
    assert {"train/loss", "val/loss", "val/wer", "val/cer"} <= set(tags["scalars"])
    assert any(t.startswith("lr-") for t in tags["scalars"])
    assert "probe/0/features" in tags["images"]
    assert "probe/transcripts/text_summary" in tags["tensors"]

    # The finished run resumed in another folder (as a copy of the run folder is): nothing left
    # to train; its training seconds are the checkpoint's, its best checkpoint the original's.
    copied = tmp_path / "copied"
    copied.mkdir()
    again = train(compose_train(overrides + [f"ckpt_path={last}"], copied))
    # (the last checkpoint is saved at the last validation's end, a little before training ends)
    trained = checkpoint["callbacks"]["Timer"]["time_elapsed"]["train"]
    assert 0 < round(trained, 2) <= saved["train_seconds"]
    assert again["train_seconds"] == round(trained, 2)
    assert again["best_val_wer"] is None and again["global_step"] == saved["global_step"]
    assert again["best_checkpoint"] == str(tmp_path / saved["best_checkpoint"])

    resumed = tmp_path / "resumed"
    resumed.mkdir()
    cfg = compose_train(overrides + ["trainer.max_epochs=2", f"ckpt_path={last}"], resumed)
    longer = train(cfg)
    assert longer["global_step"] == 2 * saved["global_step"]
    assert longer["train_seconds"] > saved["train_seconds"]


def test_a_training_time_budget_stops_the_run_which_is_still_tested(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    """callbacks.timer.duration: training stops at the budget (here before its first step)."""
    overrides = manifest_overrides(tiny_synth) + TINY_MODEL + ["trainer.max_epochs=3"]
    metrics = train(compose_train(overrides + ["callbacks.timer.duration=00:00:00:00"], tmp_path))
    assert metrics["global_step"] == 0 and metrics["epochs"] == 0
    assert metrics["test_wer"] is not None and metrics["tested_checkpoint"] is None
    assert json.loads((tmp_path / "metrics.json").read_text())["global_step"] == 0


def test_bad_manifest_line_stops_before_training(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    bad = _subset(tiny_synth["train"], 8, tmp_path / "with_missing_file.jsonl")
    with bad.open("a") as f:
        f.write('{"audio_filepath": "gone.wav", "duration": 1, "text": "one"}\n')
    cfg = compose_train(manifest_overrides({**tiny_synth, "train": bad}) + TINY_MODEL, tmp_path)
    lines = len(bad.read_text().splitlines())
    with pytest.raises(ManifestError, match=f"{bad}:{lines}: audio file not found"):
        train(cfg)
    assert not (tmp_path / "checkpoints").exists()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "asrlab-train"
    env = {**os.environ, "ASRLAB_DATA_DIR": str(cwd / "data"), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True)


def _with_bad_third_line(manifest: Path) -> Path:
    """A manifest beside `manifest`: its first two lines, then a line that is not JSON."""
    bad = _subset(manifest, 2, Path("with_bad_line.jsonl"))
    with bad.open("a") as f:
        f.write("not json\n")
    return bad


def test_the_command_names_a_bad_manifest_line_in_one_line(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    bad = _with_bad_third_line(tiny_synth["train"])
    manifests = manifest_overrides({**tiny_synth, "train": bad})
    result = _cli(*manifests, "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 1
    # Lightning's own handler writes its seed note to stderr before any asrlab code runs.
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("Seed set to")]
    assert line.startswith(f"asrlab-train: {bad}:3: ")
    assert "Traceback" in (tmp_path / "run" / "train.log").read_text()


@pytest.mark.slow
def test_a_multirun_trial_records_a_bad_manifest_line(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    bad = _with_bad_third_line(tiny_synth["train"])
    manifests = manifest_overrides({**tiny_synth, "train": bad})
    result = _cli("-m", *manifests, "hydra.sweep.dir=sweep", "seed=1,2", cwd=tmp_path)
    assert result.returncode == 1
    errors = [json.loads(p.read_text()) for p in (tmp_path / "sweep").glob("*/error.json")]
    assert len(errors) == 2
    assert all(e["error"].startswith(f"ManifestError: {bad}:3: ") for e in errors)


def test_multirun_writes_one_folder_per_trial(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    result = _cli(
        "-m",
        "encoder=gru,cnn",
        "debug=fast",
        "trainer.gradient_clip_val=4.0",
        f"hydra.sweep.dir={sweep}",
        *manifest_overrides(tiny_synth),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "litlogger" not in result.stderr and "LeafSpec" not in result.stderr  # asrlab.cli.quiet
    trials = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name != ".hydra")
    assert [t.name.split("_", 1)[0] for t in trials] == ["0", "1"]
    for trial in trials:
        assert (trial / ".hydra" / "config.yaml").is_file()
        assert (trial / ".hydra" / "overrides.yaml").is_file()
        assert "test_wer" in json.loads((trial / "metrics.json").read_text())
        assert list((trial / "tensorboard").glob("events.out.tfevents.*"))
        assert "epoch 1/1: train loss" in (trial / "train.log").read_text()  # ProgressLog
    # The hparams tab: each group's option, the swept and the command line's numbers, the scores.
    tabs = [_hparams_tab(trial) for trial in trials]
    assert [(tab["encoder"], tab["features"], tab["head"]) for tab in tabs] == [
        ("gru", "logmel", "ctc"),
        ("cnn", "logmel", "ctc"),
    ]
    assert tabs[0]["encoder.hidden_size"] == 192 and "encoder.hidden_size" not in tabs[1]
    for tab in tabs:
        assert tab["debug"] == "fast" and tab["optimizer.lr"] == pytest.approx(0.003)
        assert tab["trainer.max_epochs"] == 1 and tab["trainer.gradient_clip_val"] == 4.0
        assert not [key for key in tab if "_target_" in key or key.startswith("hydra")]


def _hparams_tab(run: Path) -> dict[str, str | float]:
    """The hparams TensorBoard shows for a run: the plugin data of its event file."""
    events = EventAccumulator(str(run / "tensorboard")).Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    values = HParamsPluginData.FromString(content).session_start_info.hparams
    assert {"hp/test_wer", "hp/best_val_wer"} <= set(events.Tags()["scalars"])
    return {key: getattr(value, value.WhichOneof("kind")) for key, value in values.items()}


def test_config_typo_fails_with_hydra_message(tmp_path: Path) -> None:
    result = _cli("encoder.hiden_size=8", cwd=tmp_path)
    assert result.returncode != 0
    assert "Could not override 'encoder.hiden_size'" in result.stderr


def test_feature_cache_serves_features_and_is_reused(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + TINY_MODEL
    overrides += [
        "debug=fast",
        "data.cache=true",
        "augment=specaugment",
        f"paths.data_dir={tmp_path}",
    ]
    cfg = compose_train(overrides, tmp_path / "first")
    cfg.data.cache_dir = str(tmp_path / "features")
    train(cfg)
    shards = sorted((tmp_path / "features").glob("features-*/*.pt"))
    assert shards
    stamps = [s.stat().st_mtime_ns for s in shards]
    again = compose_train(overrides, tmp_path / "second")
    again.data.cache_dir = str(tmp_path / "features")
    train(again)
    assert [s.stat().st_mtime_ns for s in shards] == stamps
    assert sorted((tmp_path / "features").glob("features-*/*.pt")) == shards


def test_feature_cache_refuses_waveform_augmentation(tmp_path: Path) -> None:
    cfg = compose_train(["data.cache=true", "augment=[speed,specaugment]"], tmp_path)
    with pytest.raises(ValueError, match="waveform augmentation .speed. cannot apply"):
        train(cfg)


def test_classifier_head_learns_a_tiny_fsdd(tmp_path: Path) -> None:
    root = tmp_path / "fsdd"
    write_recordings(root / "recordings", digits=(0, 3, 5, 7), takes=range(20))
    overrides = ["data=fsdd", f"data.source.root={root}", "data.source.download=false"]
    # A stationary tone is constant per frequency, so utterance normalisation would zero it.
    overrides += ["head=classifier", "augment=none", "features.normalize=none", *TINY_MODEL]
    overrides += ["trainer.max_epochs=15", "optimizer.lr=0.01", "data.batch_size=16"]
    metrics = train(compose_train(overrides, tmp_path))
    assert metrics["test_acc"] >= 0.9 and metrics["test_wer"] <= 0.1
    model, _ = load_model(tmp_path / "checkpoints" / "last.ckpt")
    assert model.head.labels == ["five", "seven", "three", "zero"]


def test_bpe_tokenizer_and_lm_are_fitted_to_the_training_transcripts(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + TINY_MODEL + ["trainer.max_epochs=1"]
    overrides += ["tokenizer=bpe", "tokenizer.vocab_size=40", "decoder=beam_lm", "lm.order=2"]
    metrics = train(compose_train(overrides, tmp_path))
    assert metrics["test_wer"] >= 0.0
    assert (tmp_path / "tokenizer.model").is_file()
    assert "\\2-grams:" in (tmp_path / "lm.arpa").read_text()
    checkpoint = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    tokenizer = tokenizer_from_state_dict(checkpoint["tokenizer"])
    assert tokenizer.vocab_size <= 40 and tokenizer.decode(tokenizer.encode("one two")) == "one two"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "head"), [("aed", "AEDHead"), ("ctc_aed", "CTCAEDHead")])
def test_attention_heads_train_end_to_end_and_their_checkpoints_decode_identically(
    name: str, head: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + TINY_MODEL + ["debug=fast", f"head={name}"]
    overrides += ["head.d_model=32", "head.num_layers=1", "head.ffn_dim=64", "head.beam_size=2"]
    metrics = train(compose_train(overrides, tmp_path))
    assert metrics["test_wer"] >= 0.0
    last = tmp_path / "checkpoints" / "last.ckpt"
    model, run_cfg = load_model(last)
    again, _ = load_model(last)
    waves, lengths = torch.randn(2, 8000), torch.tensor([8000, 5000])
    assert model.eval().transcribe(waves, lengths) == again.eval().transcribe(waves, lengths)
    # Export refuses it, naming its head; transcription decodes with the head itself.
    with pytest.raises(ValueError, match=f"head '{name}' is not supported yet; export supports"):
        AcousticModel(model)
    assert choose_decoder(model, None, last, run_cfg) is model.head
    doctor = ["doctor.audio=false", f"doctor.checkpoint={last}", *manifest_overrides(tiny_synth)]
    cfg = compose_config(doctor, tmp_path / "doctor", config_name="doctor")
    assert diagnose(cfg, progress=False)[-1].summary == f"skipped: a {head} head has no CTC blank"
