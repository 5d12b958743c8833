"""asrlab-decode: log-probs computed once per checkpoint and split, then only decoding."""

import csv
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from hydra.utils import instantiate
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from asrlab.cli.compare import main as compare
from asrlab.cli.decode import main as decode_main
from asrlab.tools.evaluation.inputs import EvaluationError
from asrlab.training.checkpoint import load_model
from asrlab.training.compose import compose_config
from helpers import check_test_scores, decode_checkpoint

LM = ["decoder=beam_lm", "lm.order=2"]


def _copy_run(tiny_run: Path, folder: Path) -> Path:
    """The tiny run's checkpoint in a run folder of its own (so its cache is this test's)."""
    (folder / "checkpoints").mkdir(parents=True)
    return Path(shutil.copy2(tiny_run / "checkpoints" / "last.ckpt", folder / "checkpoints"))


def test_a_multirun_runs_the_acoustic_model_once_and_compare_ranks_it(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forward_calls: list[int]
) -> None:
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    checkpoint = tiny_run / "checkpoints" / "last.ckpt"
    argv = ["asrlab-decode", "-m", f"ckpt_path={checkpoint}", f"cache_dir={cache}", *LM]
    argv += ["decoder.lm_weight=0.0,0.5,2.0", f"hydra.sweep.dir={sweep}"]
    monkeypatch.setattr(sys, "argv", argv)
    decode_main()  # Hydra's basic launcher: the trials run one after another, in this process

    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [t.name.split("_")[0] for t in trials] == ["0", "1", "2"]
    metrics = [json.loads((t / "metrics.json").read_text()) for t in trials]
    assert [m["logprobs_computed"] for m in metrics] == [True, False, False]
    assert sum(forward_calls) == metrics[0]["utterances"]  # the first trial's pass, no other
    assert len(list(cache.glob("val-*.pt"))) == 1 and len(list(cache.glob("lm-*.arpa"))) == 1
    wers = [m["val_wer"] for m in metrics]
    assert len(set(wers)) > 1  # the LM weight changes the transcripts
    assert all(m["decode_rtf"] > 0 and m["checkpoint"] == str(checkpoint) for m in metrics)

    for trial, m in zip(trials, metrics, strict=True):
        assert (trial / ".hydra" / "config.yaml").is_file()
        events = EventAccumulator(str(trial / "tensorboard")).Reload()
        assert [e.value for e in events.Scalars("hp/val_wer")] == pytest.approx([m["val_wer"]])
        assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")

    compare([str(sweep), "--metric", "val_wer", "--out", str(tmp_path / "compare")])
    rows = (tmp_path / "compare" / "runs.csv").read_text().splitlines()
    assert rows[0] == "rank,run,decoder.lm_weight,val_wer,decode_rtf,pareto_decode_rtf"
    ranked = [row.split(",") for row in rows[1:]]
    assert [float(r[3]) for r in ranked] == pytest.approx(sorted(wers))
    assert {r[2] for r in ranked} == {"0.0", "0.5", "2.0"}


def test_the_scores_go_to_a_logger_other_than_tensorboard(tiny_run: Path, tmp_path: Path) -> None:
    overrides = ["logger=csv", f"cache_dir={tmp_path / 'cache'}"]
    metrics = decode_checkpoint(
        tiny_run / "checkpoints" / "last.ckpt", overrides, tmp_path / "decode"
    )
    with (tmp_path / "decode" / "csv" / "metrics.csv").open(newline="") as file:
        (row,) = csv.DictReader(file)
    assert float(row["hp/val_wer"]) == pytest.approx(metrics["val_wer"])
    assert "split: val" in (tmp_path / "decode" / "csv" / "hparams.yaml").read_text()


def test_decoding_cached_log_probs_equals_decoding_the_audio(
    tiny_run: Path, tmp_path: Path
) -> None:
    checkpoint = tiny_run / "checkpoints" / "last.ckpt"
    overrides = ["split=test", f"cache_dir={tmp_path / 'cache'}", *LM, "decoder.lm_weight=2.0"]
    metrics = decode_checkpoint(checkpoint, overrides, tmp_path / "decode")

    model, cfg = load_model(checkpoint)
    decoder_cfg = compose_config(overrides, tmp_path, config_name="decode").decoder
    model.head.decoder = instantiate(decoder_cfg, lm=metrics["lm"])(tokenizer=model.tokenizer)
    assert any(check_test_scores(model, cfg, metrics))


def test_another_split_or_a_rewritten_checkpoint_recomputes(
    tiny_run: Path, tmp_path: Path, forward_calls: list[int]
) -> None:
    checkpoint = _copy_run(tiny_run, tmp_path / "run")
    cache = tmp_path / "run" / "logprobs"  # the default: beside the checkpoint's run

    def computed(split: str, name: str) -> bool:
        before = len(forward_calls)
        metrics = decode_checkpoint(checkpoint, [f"split={split}"], tmp_path / name)
        assert metrics["logprobs_computed"] == (len(forward_calls) > before)
        assert Path(metrics["logprobs"]).parent == cache
        return metrics["logprobs_computed"]

    assert [computed("val", "a"), computed("test", "b"), computed("val", "c")] == [1, 1, 0]
    assert len(list(cache.glob("*.pt"))) == 2
    stat = checkpoint.stat()
    os.utime(checkpoint, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert computed("val", "d") and len(list(cache.glob("val-*.pt"))) == 2


def test_bad_input_gets_a_clear_error(tiny_run: Path, tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="ckpt_path=.*gone.ckpt: no such file"):
        decode_checkpoint(tmp_path / "gone.ckpt", [], tmp_path)
    checkpoint = tiny_run / "checkpoints" / "last.ckpt"
    with pytest.raises(EvaluationError, match="split=dev: choose one of train, val, test"):
        decode_checkpoint(checkpoint, ["split=dev"], tmp_path)
    with pytest.raises(EvaluationError, match=r"search.beam_size: a CTC head's log-probs go"):
        decode_checkpoint(checkpoint, ["search.beam_size=4"], tmp_path)
