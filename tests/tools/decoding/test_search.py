"""asrlab-decode on the heads that decode themselves (rnnt, ctc_aed): their scores cached
once, their search settings (`search.*`) swept over them. Each head trains a tiny run, so these
are slow; tests/test_every_head.py runs the AED head's by default."""

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from asrlab.cli.compare import main as compare
from asrlab.cli.decode import main as decode_main
from asrlab.tools.evaluation.inputs import EvaluationError
from asrlab.training.checkpoint import load_model
from asrlab.training.run import train
from helpers import check_test_scores, compose_train, decode_checkpoint, manifest_overrides

pytestmark = pytest.mark.slow

TINY = ["encoder.hidden_size=32", "encoder.num_layers=1", "debug=fast"]
ATTENTION = ["head.d_model=32", "head.num_layers=1", "head.ffn_dim=64", "head.max_length_ratio=0.2"]
HEADS = {
    "rnnt": ["head=rnnt", "head.joint_dim=16", "head.embedding_dim=8", "head.prediction_dim=16"],
    # Its LM is estimated from the training transcripts (head.lm: train) into the run folder.
    "ctc_aed": ["head=ctc_aed", *ATTENTION, "head.beam_size=2", "head.lm=train"]
    + ["head.lm_weight=0.5", "lm.unit=char", "lm.order=2"],
}
# Per head, search settings other than its training's, and the head attributes they set.
SETTINGS = {
    "rnnt": ({"beam_size": 2}, {"beam_size": 2}),
    "ctc_aed": ({"beam_size": 1, "ctc_weight": 0.6}, {"beam_size": 1, "decode_ctc_weight": 0.6}),
}


@pytest.fixture(scope="module")
def checkpoint_of(
    tiny_synth: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """A head's name -> the checkpoint of its tiny run (two training steps), trained once."""

    @functools.cache
    def checkpoint(name: str) -> Path:
        run_dir = tmp_path_factory.mktemp(f"{name}_run")
        train(compose_train(manifest_overrides(tiny_synth) + TINY + HEADS[name], run_dir))
        return run_dir / "checkpoints" / "last.ckpt"

    return checkpoint


@pytest.mark.parametrize("name", list(HEADS))
def test_decoding_the_cache_equals_the_heads_decoding_of_the_audio(
    checkpoint_of: Callable[[str], Path], name: str, tmp_path: Path, forward_calls: list[int]
) -> None:
    checkpoint = checkpoint_of(name)
    settings, attributes = SETTINGS[name]
    overrides = ["split=test", f"cache_dir={tmp_path / 'cache'}"]
    overrides += [f"search.{key}={value}" for key, value in settings.items()]
    forward_calls.clear()  # of training
    metrics = decode_checkpoint(checkpoint, overrides, tmp_path / "decode")
    assert metrics["logprobs_computed"] and sum(forward_calls) == metrics["utterances"]
    assert metrics["settings"]["_target_"].endswith(type(load_model(checkpoint)[0].head).__name__)
    assert {key: metrics["settings"][key] for key in attributes} == attributes

    model, cfg = load_model(checkpoint)
    for key, value in attributes.items():
        setattr(model.head, key, value)
    check_test_scores(model, cfg, metrics)
    if name == "ctc_aed":  # the LM training estimated, as the head was trained with it
        assert metrics["lm"] == str(checkpoint.parent.parent / "lm.arpa")


@pytest.mark.parametrize(
    ("head", "override", "message"),
    [
        ("rnnt", "search.beam_size=0", r"search.beam_size=0: head.nbest must be between 1 and"),
        ("ctc_aed", "search.ctc_weight=1.5", r"search.ctc_weight=1.5: head.decode_ctc_weight"),
        ("rnnt", "search.ctc_weight=0.5", r"search.ctc_weight: a RNNTHead head's search takes "),
        ("ctc_aed", "search.lm=train", r"search.lm=train: head.lm=.*lm-.*arpa: none of its units"),
    ],
)
def test_bad_settings_are_named_before_the_acoustic_model_runs(
    checkpoint_of: Callable[[str], Path],
    tmp_path: Path,
    forward_calls: list[int],
    head: str,
    override: str,
    message: str,
) -> None:
    checkpoint = checkpoint_of(head)
    forward_calls.clear()  # of training
    with pytest.raises(EvaluationError, match=message):
        decode_checkpoint(checkpoint, [override, f"cache_dir={tmp_path}"], tmp_path / "decode")
    assert forward_calls == []


def test_a_sweep_of_two_beams_and_an_lm_reads_the_cache_once_into_rows_compare_ranks(
    checkpoint_of: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    forward_calls: list[int],
) -> None:
    checkpoint = checkpoint_of("ctc_aed")
    forward_calls.clear()  # of training
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    argv = ["asrlab-decode", "-m", f"ckpt_path={checkpoint}", f"cache_dir={cache}"]
    argv += ["search.beam_size=1,2", "search.lm=train", "search.lm_weight=1.0", "lm.unit=char"]
    monkeypatch.setattr(sys, "argv", [*argv, f"hydra.sweep.dir={sweep}"])
    decode_main()

    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    metrics = [json.loads((t / "metrics.json").read_text()) for t in trials]
    assert [m["logprobs_computed"] for m in metrics] == [True, False]
    assert sum(forward_calls) == metrics[0]["utterances"]  # the first trial's pass, no other
    assert [m["settings"]["beam_size"] for m in metrics] == [1, 2]
    assert {m["lm"] for m in metrics} == {str(next(cache.glob("lm-*.arpa")))}
    compare([str(sweep), "--metric", "val_wer", "--out", str(tmp_path / "compare")])
    rows = (tmp_path / "compare" / "runs.csv").read_text().splitlines()
    header = "rank,run,search.beam_size,val_wer,decode_rtf,pareto_decode_rtf"
    assert rows[0] == header and len(rows) == 3
