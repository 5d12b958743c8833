"""asrlab-export: the exported TorchScript and ONNX files give PyTorch's log-probs and
transcripts, alone and padded in a batch, and carry what decoding needs without asrlab."""

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch

from asrlab.cli.export import main
from asrlab.data.audio import read_audio, write_audio
from asrlab.data.datamodule import ASRDataModule
from asrlab.data.manifest import read_manifest
from asrlab.model.build import build_datamodule, build_model, build_tokenizer
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import tokenizer_from_state_dict
from asrlab.tools.decoding.posteriors import Posteriors, compute_posteriors
from asrlab.tools.exporting.acoustic import AcousticModel
from asrlab.tools.exporting.bundle import (
    CHECK_SECONDS,
    EXAMPLE_SECONDS,
    max_difference,
    noise_batch,
)
from asrlab.tools.exporting.formats import FILES, LOAD, OPSET, SAVE, load_onnx
from asrlab.training.checkpoint import load_model
from helpers import RecordingHandler, compose_train, manifest_overrides

# Largest |difference| allowed between exported and PyTorch log-probs on the tiny run's test
# split. TorchScript runs torch's own kernels; the ONNX file computes the STFT as a convolution
# (measured: under 1e-5 on these log-probs; onnxruntime's own STFT node gave 4e-4).
ATOL = {"torchscript": 1e-5, "onnx": 1e-4}
FORMATS = list(FILES)


@pytest.fixture(scope="module")
def exported_noise(
    tiny_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    """The tiny run's last checkpoint exported in both formats, through the command line; and
    the warnings and the ONNX registry's log messages on the way."""
    out = tmp_path_factory.mktemp("export")
    registry = logging.getLogger("torch.onnx._internal.exporter._registration")
    handler = RecordingHandler()
    registry.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        main([str(tiny_run / "checkpoints" / "last.ckpt"), "--format", "both", "--out", str(out)])
    registry.removeHandler(handler)
    return out, [str(w.message) for w in caught] + handler.messages


@pytest.fixture(scope="module")
def exported(exported_noise: tuple[Path, list[str]]) -> Path:
    return exported_noise[0]


def test_export_shows_no_library_noise(exported_noise: tuple[Path, list[str]]) -> None:
    noise = ("torchvision is not installed", "LeafSpec", "The axis name: batch")
    assert [m for m in exported_noise[1] if any(n in m for n in noise)] == []


@pytest.fixture(scope="module")
def reference(tiny_run: Path) -> tuple[ASRModel, ASRDataModule, Posteriors]:
    """The PyTorch model, its test split, and the model's log-probs of that split."""
    model, cfg = load_model(tiny_run / "checkpoints" / "last.ckpt")
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.setup("test")
    return model, datamodule, compute_posteriors(model, datamodule, "test")


def greedy_text(log_probs: np.ndarray, tokenizer: dict[str, Any]) -> str:
    """Greedy CTC decoding from tokenizer.json alone, as docs/export.md describes it."""
    best = log_probs.argmax(axis=-1)
    ids = [int(i) for t, i in enumerate(best) if t == 0 or i != best[t - 1]]
    skip = {tokenizer["blank_id"], tokenizer["unk_id"]}
    text = "".join(tokenizer["vocab"][i] for i in ids if i not in skip)
    return " ".join(text.replace(tokenizer["word_boundary"], " ").split())


def test_model_json_describes_the_export(exported: Path, tiny_run: Path) -> None:
    model, cfg = load_model(tiny_run / "checkpoints" / "last.ckpt")
    spec = json.loads((exported / "model.json").read_text())
    tokenizer = json.loads((exported / "tokenizer.json").read_text())
    assert spec["files"] == {"tokenizer": "tokenizer.json", **FILES}
    assert all((exported / name).is_file() for name in spec["files"].values())
    assert spec["sample_rate"] == cfg.data.sample_rate == 16000
    assert spec["hop_samples"] == 16000 * cfg.features.hop_ms / 1000 == 160
    assert spec["encoder_stride"] == model.encoder.stride == cfg.encoder.subsample
    assert spec["frame_seconds"] == pytest.approx(160 * spec["encoder_stride"] / 16000)
    assert spec["blank_id"] == tokenizer["blank_id"] == 0 and spec["opset"] == OPSET
    assert spec["vocab_size"] == len(tokenizer["vocab"]) == model.tokenizer.vocab_size
    assert tokenizer_from_state_dict(tokenizer["state_dict"]).vocab == model.tokenizer.vocab
    assert set(spec["check"]["max_abs_diff"]) == set(FILES)

    graph = onnx.load(str(exported / FILES["onnx"])).graph
    dims = {i.name: [d.dim_param for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert dims == {"waves": ["batch", "samples"], "wave_lengths": ["batch"]}
    # onnxruntime's STFT node is a naive DFT at n_fft=400, most of the model's time.
    assert "STFT" not in {node.op_type for node in graph.node}


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_model_matches_pytorch_on_the_test_split(
    fmt: str, exported: Path, reference: tuple[ASRModel, ASRDataModule, Posteriors]
) -> None:
    model, datamodule, posteriors = reference
    run = LOAD[fmt](exported / FILES[fmt])
    tokenizer = json.loads((exported / "tokenizer.json").read_text())
    expected = dict(zip(posteriors.ids, posteriors.scores, strict=True))
    hyps = [h for scores, n in posteriors.batches() for h in model.head.decode(scores, n)]
    texts = dict(zip(posteriors.ids, hyps, strict=True))
    assert len(set(hyps)) > 1  # the transcripts tell utterances apart

    (batch,) = datamodule.eval_dataloader("test")
    assert len(batch.ids) > 1 and len(set(batch.wave_lengths.tolist())) == len(batch.ids)
    outputs = [(batch.ids, *run(batch.waves, batch.wave_lengths))]  # padded to the longest
    for example in datamodule.datasets["test"]:  # one at a time
        outputs.append(([example.id], *run(example.wave[None], torch.tensor([len(example.wave)]))))
    for ids, log_probs, lengths in outputs:
        for id_, scores, n in zip(ids, log_probs, lengths.tolist(), strict=True):
            assert n == len(expected[id_])
            torch.testing.assert_close(scores[:n], expected[id_], atol=ATOL[fmt], rtol=0)
            assert greedy_text(scores[:n].numpy(), tokenizer) == texts[id_]


def test_onnx_runs_on_one_thread_as_on_all(exported: Path) -> None:
    batch = noise_batch(CHECK_SECONDS, 16000, seed=2)
    for expected, got in zip(
        LOAD["onnx"](exported / FILES["onnx"])(*batch),
        load_onnx(exported / FILES["onnx"], threads=1)(*batch),
        strict=True,
    ):
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_export_refuses_what_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as missing:
        main([str(tmp_path / "nothing.ckpt")])
    assert missing.value.code == 2 and "no such checkpoint" in capsys.readouterr().err
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(SystemExit) as not_ours:
        main([str(foreign), "--out", str(tmp_path / "out")])
    assert not_ours.value.code == 1 and "not an asrlab checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("contents", ["garbage", "untrusted"])
def test_an_unloadable_checkpoint_is_named_once_on_one_line(
    contents: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "bad.ckpt"
    if contents == "garbage":  # torch's unpickling error spans several lines
        bad.write_text("garbage\n")
    else:
        torch.save({"asrlab_config": {"encoder": {"_target_": "os.system"}}}, bad)
    with pytest.raises(SystemExit) as error:
        main([str(bad), "--out", str(tmp_path / "out")])
    message = capsys.readouterr().err
    assert error.value.code == 1 and message.count("\n") == 1
    assert message.startswith(f"asrlab-export: {bad}: ") and message.count(str(bad)) == 1


def _untrained(overrides: list[str], tiny_synth: dict[str, Path], run_dir: Path) -> AcousticModel:
    cfg = compose_train([*manifest_overrides(tiny_synth), *overrides], run_dir)
    torch.manual_seed(0)
    return AcousticModel(build_model(cfg, build_tokenizer(cfg), texts=lambda: []))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "encoder", ["lstm", "cnn", "crnn", "dnn", "conformer", "quartznet", "transformer"]
)
def test_other_encoders_export(
    encoder: str, fmt: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    _check_export([f"encoder={encoder}"], fmt, tiny_synth, tmp_path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_features_normalized_over_all_features_export(
    fmt: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    _check_export(["features.normalize=all_features"], fmt, tiny_synth, tmp_path)


def _check_export(
    overrides: list[str], fmt: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    model = _untrained(overrides, tiny_synth, tmp_path)
    path = tmp_path / FILES[fmt]
    SAVE[fmt](model, noise_batch(EXAMPLE_SECONDS, 16000), path)
    check = noise_batch(CHECK_SECONDS, 16000, seed=1)
    assert max_difference(model, LOAD[fmt](path), check) < ATOL[fmt]


@pytest.mark.parametrize("model", ["Z2FyYmFnZQ==", "not base64!"])
def test_a_checkpoint_with_a_broken_bpe_model_is_named(
    model: str, tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    checkpoint = torch.load(tiny_run / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["tokenizer"] = {"type": "bpe", "model": model}  # b"garbage", and no base64
    broken = tmp_path / "broken.ckpt"
    torch.save(checkpoint, broken)
    with pytest.raises(SystemExit) as error:
        main([str(broken), "--out", str(tmp_path / "out")])
    message = capsys.readouterr().err
    assert error.value.code == 1 and message.count("\n") == 1
    assert message.startswith(f"asrlab-export: {broken}: the saved BPE tokenizer is unusable: ")


def test_the_documented_snippet_transcribes_and_refuses_another_rate(
    exported: Path,
    tiny_run: Path,
    tiny_synth: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    page = (Path(__file__).parents[1] / "docs" / "export.md").read_text()
    snippet = page.split("```python\n", 1)[1].split("```", 1)[0]
    snippet = snippet.replace("DIR/", f"{exported}/")
    model, _ = load_model(tiny_run / "checkpoints" / "last.ckpt")
    wave = read_audio(read_manifest(tiny_synth["test"])[0].audio_filepath, 16000)
    monkeypatch.chdir(tmp_path)
    write_audio(tmp_path / "utt.wav", wave, 16000)
    exec(snippet, {})
    with torch.no_grad():
        scores, lengths = model.eval()(wave[None], torch.tensor([len(wave)]))
    text = model.head.decode(scores, lengths)[0]
    assert text and capsys.readouterr().out == text + "\n"
    write_audio(tmp_path / "utt.wav", wave[::2], 8000)
    with pytest.raises(SystemExit, match="utt.wav is at 8000 Hz, the model reads 16000 Hz"):
        exec(snippet, {})
