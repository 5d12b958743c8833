"""asrlab-eval, asrlab-transcribe and asrlab-decode on a head other than CTC (attention, AED): the
head decodes its own scores; asrlab-decode sweeps its search settings over its cached memory."""

import json
from pathlib import Path

import pytest
import torch
from torchmetrics.text import CharErrorRate

from asrlab.data.audio import read_audio
from asrlab.data.manifest import read_manifest
from asrlab.tools.decoding.run import decode
from asrlab.tools.evaluation.inputs import EvaluationError
from asrlab.tools.evaluation.run import evaluate
from asrlab.tools.inference.run import prepare, transcribe
from asrlab.training.checkpoint import load_model
from asrlab.training.compose import compose_config
from asrlab.training.run import train
from helpers import compose_train, manifest_overrides

TINY_AED = ["encoder.hidden_size=32", "encoder.num_layers=1", "head=aed", "debug=fast"]
TINY_AED += ["head.d_model=32", "head.num_layers=1", "head.ffn_dim=64"]


@pytest.fixture(scope="module")
def aed_run(tiny_synth: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny AED run folder (one training step, greedy decoding)."""
    run_dir = tmp_path_factory.mktemp("aed_run")
    train(compose_train(manifest_overrides(tiny_synth) + TINY_AED, run_dir))
    return run_dir


def _checkpoint(run: Path) -> Path:
    return run / json.loads((run / "metrics.json").read_text())["best_checkpoint"]


def test_eval_decodes_with_the_head_as_the_run_tested(aed_run: Path, tmp_path: Path) -> None:
    cfg = compose_config([f"ckpt_path={_checkpoint(aed_run)}"], tmp_path, config_name="eval")
    decoders = evaluate(cfg)["decoders"]
    trained = json.loads((aed_run / "metrics.json").read_text())
    for name in ("wer", "cer", "acc"):
        assert decoders["checkpoint"][name] == pytest.approx(trained[f"test_{name}"], abs=1e-6)
    assert decoders["checkpoint"]["decoder"]["_target_"].endswith("AEDHead")
    assert "| checkpoint |" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("decoders=[checkpoint,greedy]", r"AEDHead head decodes its own outputs.*only choice"),
        ("+decoders.checkpoint.beam_size=4", r"decoders.checkpoint.beam_size: a AEDHead head"),
    ],
)
def test_eval_refuses_ctc_decoders_for_the_head(
    aed_run: Path, tmp_path: Path, override: str, message: str
) -> None:
    overrides = [f"ckpt_path={_checkpoint(aed_run)}", override]
    with pytest.raises(EvaluationError, match=message):
        evaluate(compose_config(overrides, tmp_path, config_name="eval"))


def test_transcribe_gives_the_heads_text_without_words_and_long_files_whole(
    aed_run: Path, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    ckpt = aed_run / "checkpoints" / "last.ckpt"
    paths = [Path(u.audio_filepath) for u in read_manifest(tiny_synth["test"])[:3]]
    out = tmp_path / "out.jsonl"
    # Every file is longer than a chunk: a head's scores are not joined, each goes through whole.
    overrides = [f"ckpt_path={ckpt}", f"inputs=[{','.join(map(str, paths))}]", f"out={out}"]
    overrides += ["chunk_seconds=0.2", "overlap_seconds=0.05"]
    cfg = compose_config(overrides, tmp_path, config_name="transcribe")
    assert transcribe(cfg, *prepare(cfg)) == []
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    model, _ = load_model(ckpt)
    for path, line in zip(paths, lines, strict=True):
        wave = read_audio(path, 16000)
        assert line["text"] == model.transcribe(wave[None], torch.tensor([len(wave)]))[0]
        assert line["words"] is None
    with pytest.raises(ValueError, match="AEDHead head decodes its own outputs"):
        prepare(compose_config([*overrides, "decoder=greedy"], tmp_path, config_name="transcribe"))


def test_decode_searches_the_cached_memory_as_the_head_decodes_the_audio(
    aed_run: Path, tiny_synth: dict[str, Path], tmp_path: Path, forward_calls: list[int]
) -> None:
    checkpoint = _checkpoint(aed_run)
    overrides = [f"ckpt_path={checkpoint}", f"cache_dir={tmp_path}", "split=test"]
    beam = [*overrides, "search.beam_size=2", "search.length_penalty=0.5"]
    metrics = decode(compose_config(beam, tmp_path / "a", config_name="decode"))
    greedy = decode(compose_config(overrides, tmp_path / "b", config_name="decode"))
    assert not greedy["logprobs_computed"] and sum(forward_calls) == metrics["utterances"]
    assert greedy["settings"]["beam_size"] == 1  # the head's own

    model, _ = load_model(checkpoint)
    model.head.beam_size, model.head.length_penalty = 2, 0.5
    manifest = read_manifest(tiny_synth["test"])
    waves = [read_audio(Path(u.audio_filepath), 16000) for u in manifest]
    hyps = [model.transcribe(wave[None], torch.tensor([len(wave)]))[0] for wave in waves]
    assert metrics["test_cer"] == pytest.approx(
        float(CharErrorRate()(hyps, [model.tokenizer.normalize(u.text) for u in manifest]))
    )
    assert metrics["settings"]["beam_size"] == 2 and metrics["settings"]["length_penalty"] == 0.5


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("search.beam_size=0", r"search.beam_size=0: head.beam_size must be >= 1"),
        ("search.ctc_weight=0.5", r"search.ctc_weight: a AEDHead head's search takes search.beam"),
    ],
)
def test_decode_names_a_bad_search_setting(
    aed_run: Path, tmp_path: Path, forward_calls: list[int], override: str, message: str
) -> None:
    overrides = [f"ckpt_path={_checkpoint(aed_run)}", f"cache_dir={tmp_path}", override]
    with pytest.raises(EvaluationError, match=message):
        decode(compose_config(overrides, tmp_path, config_name="decode"))
    assert forward_calls == []
