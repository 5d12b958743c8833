"""asrlab-export: the exported TorchScript and ONNX files give PyTorch's log-probs and
transcripts, alone and padded in a batch, and carry what decoding needs without asrlab."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch

from asrlab.build import build_datamodule, build_model, build_tokenizer
from asrlab.checkpoint import load_model
from asrlab.data.datamodule import ASRDataModule
from asrlab.data.tokenizer import tokenizer_from_state_dict
from asrlab.export import main
from asrlab.exporting.acoustic import AcousticModel
from asrlab.exporting.bundle import CHECK_SECONDS, EXAMPLE_SECONDS, max_difference, noise_batch
from asrlab.exporting.formats import FILES, LOAD, OPSET, SAVE, load_onnx
from asrlab.module import ASRModel
from asrlab.posteriors import Posteriors, compute_posteriors
from helpers import compose_train, manifest_overrides

# Largest |difference| allowed between exported and PyTorch log-probs on the tiny run's test
# split. TorchScript runs torch's own kernels; the ONNX file computes the STFT as a convolution
# (measured: under 1e-5 on these log-probs; onnxruntime's own STFT node gave 4e-4).
ATOL = {"torchscript": 1e-5, "onnx": 1e-4}
FORMATS = list(FILES)


@pytest.fixture(scope="module")
def exported(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run's last checkpoint exported in both formats, through the command line."""
    out = tmp_path_factory.mktemp("export")
    main([str(tiny_run / "checkpoints" / "last.ckpt"), "--format", "both", "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def reference(tiny_run: Path) -> tuple[ASRModel, ASRDataModule, Posteriors]:
    """The PyTorch model, its test split, and the model's log-probs of that split."""
    model, cfg = load_model(tiny_run / "checkpoints" / "last.ckpt")
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.setup("test")
    return model, datamodule, compute_posteriors(model, datamodule, "test")


def greedy_text(log_probs: np.ndarray, tokenizer: dict[str, Any]) -> str:
    """Greedy CTC decoding from tokenizer.json alone, as the README describes it."""
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
    expected = dict(zip(posteriors.ids, posteriors.log_probs, strict=True))
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


def _untrained(encoder: str, tiny_synth: dict[str, Path], run_dir: Path) -> AcousticModel:
    cfg = compose_train([*manifest_overrides(tiny_synth), f"encoder={encoder}"], run_dir)
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
    model = _untrained(encoder, tiny_synth, tmp_path)
    path = tmp_path / FILES[fmt]
    SAVE[fmt](model, noise_batch(EXAMPLE_SECONDS, 16000), path)
    check = noise_batch(CHECK_SECONDS, 16000, seed=1)
    assert max_difference(model, LOAD[fmt](path), check) < ATOL[fmt]
