"""A checkpoint exported into a folder: the model files, tokenizer.json and model.json.

A CTC model is one graph (model.pt, model.onnx): waveforms in, log-probs out. An RNN-T model is
three TorchScript graphs (encoder.pt, prediction.pt, joint.pt) and rnnt_greedy.py, which decodes
with them and torch alone.

Each written file is run again (by torch or onnxruntime) on a batch of other sizes and lengths
than the one it was exported with, and compared with PyTorch: a file whose shapes were frozen at
export, or whose numbers drifted, is an error, not a silent bad export.
"""

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor, nn

import asrlab
from asrlab.model.heads.rnnt_search import greedy_search
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import Tokenizer
from asrlab.tools.exporting import rnnt_greedy
from asrlab.tools.exporting.acoustic import AcousticModel, head_name
from asrlab.tools.exporting.formats import DYNAMIC_AXES, FILES, LOAD, OPSET, SAVE, Batch, Runner
from asrlab.tools.exporting.transducer import (
    Joint,
    PredictionStep,
    joint_example,
    prediction_example,
)
from asrlab.training.checkpoint import load_model

# Export at batch 2 with two lengths; check at batch 3 with other lengths, one under a frame.
EXAMPLE_SECONDS = (1.0, 0.75)
CHECK_SECONDS = (0.5, 1.3, 0.01)
# Largest difference from PyTorch on the check batch's valid log-probs that still passes.
# TorchScript is exact; ONNX, its STFT a convolution (asrlab.model.onnx_stft), is within
# about 1e-5. An ONNX GRU with its reset gate misplaced was off by 0.15.
CHECK_ATOL = 1e-2
# The formats each head exports to: the ONNX exporter declares the shapes of an LSTM's state
# outputs wrongly, and onnxruntime warns of it on every load; RNN-T is TorchScript only.
HEAD_FORMATS = {"ctc": tuple(FILES), "rnnt": ("torchscript",)}
RNNT_GREEDY = "rnnt_greedy.py"
WAVES = {
    "waves": "float32 (batch, samples): mono waveforms at sample_rate, zero-padded",
    "wave_lengths": "int64 (batch,): valid samples of each waveform",
}
CTC_GRAPH = {
    "inputs": WAVES,
    "outputs": {
        "log_probs": "float32 (batch, frames, vocab_size): CTC log-probs (natural log); "
        "frames at or beyond lengths are padding",
        "lengths": "int64 (batch,): valid frames of each utterance",
    },
}
RNNT_GRAPHS = {
    "graphs": {
        "encoder": {
            "inputs": WAVES,
            "outputs": {
                "encoded": "float32 (batch, frames, joint_dim): encoder states in the joint "
                "space; frames at or beyond lengths are padding",
                "lengths": "int64 (batch,): valid frames of each utterance",
            },
        },
        "prediction": {
            "inputs": {
                "token": "int64 (batch,): the last token (blank_id before the first)",
                "hidden": "float32 (layers, batch, width): the state (zeros before the first)",
                "cell": "float32 (layers, batch, width): an LSTM's cell (zeros before the "
                "first); a GRU returns it unchanged",
            },
            "outputs": {
                "output": "float32 (batch, joint_dim)",
                "hidden": "the state after token",
                "cell": "the cell after token",
            },
        },
        "joint": {
            "inputs": {
                "frame": "float32 (batch, joint_dim): one frame of encoded",
                "prediction": "float32 (batch, joint_dim): an output of prediction",
            },
            "outputs": {"log_probs": "float32 (batch, vocab_size): natural log"},
        },
    },
}


class ExportError(RuntimeError):
    """An export that failed, or whose file does not reproduce the PyTorch model."""


def noise_batch(seconds: Sequence[float], sample_rate: int, seed: int = 0) -> Batch:
    """Zero-padded Gaussian noise waveforms (B, S) of the given durations, and their lengths."""
    lengths = torch.tensor([max(1, round(s * sample_rate)) for s in seconds])
    generator = torch.Generator().manual_seed(seed)
    waves = 0.1 * torch.randn(len(seconds), int(lengths.max()), generator=generator)
    waves = waves.masked_fill(torch.arange(waves.shape[1]) >= lengths[:, None], 0.0)
    return waves, lengths


@torch.no_grad()
def max_difference(model: AcousticModel, exported: Runner, batch: Batch) -> float:
    """Largest |difference| of the valid log-probs; raises ExportError if the lengths differ."""
    expected, lengths = model(*batch)
    got, got_lengths = exported(*batch)
    if not torch.equal(got_lengths, lengths):
        raise ExportError(f"frame counts {got_lengths.tolist()} instead of {lengths.tolist()}")
    return max(float((got[i, :n] - expected[i, :n]).abs().max()) for i, n in enumerate(lengths))


def tokenizer_json(tokenizer: Tokenizer) -> dict[str, Any]:
    """What greedy decoding needs without asrlab (the vocabulary, blank and unknown ids), and the
    state dict that `asrlab.text.tokenizer.tokenizer_from_state_dict` rebuilds it from."""
    return {
        "vocab": tokenizer.vocab,
        "blank_id": tokenizer.blank_id,
        "unk_id": getattr(tokenizer, "unk_id", None),
        "word_boundary": "▁",  # sentencepiece's word start in BPE pieces; read it as a space
        "state_dict": tokenizer.state_dict(),
    }


def describe(model: ASRModel, cfg: DictConfig, tokenizer: Tokenizer, head: str) -> dict[str, Any]:
    """model.json: the inputs, outputs and time scales of the exported model."""
    return {
        "asrlab_version": asrlab.__version__,
        "torch_version": torch.__version__,
        "head": head,
        **(RNNT_GRAPHS if head == "rnnt" else CTC_GRAPH),
        "dynamic_axes": DYNAMIC_AXES,
        "sample_rate": cfg.data.sample_rate,
        "features": cfg.features._target_.rsplit(".", 1)[-1],
        "n_features": model.frontend.n_features,
        "window_samples": model.frontend.frame_length,
        "hop_samples": model.frontend.hop_samples,
        "hop_ms": cfg.features.hop_ms,
        "encoder": cfg.encoder._target_.rsplit(".", 1)[-1],
        "encoder_stride": model.encoder.stride,
        "frame_seconds": model.frame_seconds,
        "vocab_size": tokenizer.vocab_size,
        "blank_id": tokenizer.blank_id,
        "files": {"tokenizer": "tokenizer.json"},
        "opset": None,
        "check": {"seconds": list(CHECK_SECONDS), "max_abs_diff": {}},
    }


def export_checkpoint(checkpoint: Path, out: Path, formats: Sequence[str]) -> dict[str, Any]:
    """Writes the model of `checkpoint` (RUN/checkpoints/X.ckpt) into `out` in each format
    ("torchscript", "onnx") its head exports to, with tokenizer.json and model.json; returns
    model.json's content. Nothing is written for a head that does not export (ValueError)."""
    model, cfg = load_model(checkpoint)
    head = head_name(model)
    acoustic = AcousticModel(model)
    formats = [fmt for fmt in formats if fmt in HEAD_FORMATS[head]]
    if not formats:
        raise ExportError(
            f"a {head} head exports to {' and '.join(HEAD_FORMATS[head])} only (see "
            "docs/export.md); give --format torchscript"
        )
    spec = describe(model, cfg, model.tokenizer, head)
    out.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        write = write_rnnt if head == "rnnt" else write_ctc
        spec["files"][fmt], spec["check"]["max_abs_diff"][fmt] = write(model, acoustic, fmt, out)
        if fmt == "onnx":
            spec["opset"] = OPSET
    if head == "rnnt":
        shutil.copy(rnnt_greedy.__file__, out / RNNT_GREEDY)
        spec["files"]["greedy"] = RNNT_GREEDY
        spec["prediction_state"] = {
            "layers": model.head.rnn.num_layers,
            "width": model.head.rnn.hidden_size,
        }
        spec["max_symbols_per_frame"] = model.head.max_symbols
    tokenizer = json.dumps(tokenizer_json(model.tokenizer), indent=2, ensure_ascii=False)
    (out / "tokenizer.json").write_text(tokenizer + "\n", encoding="utf-8")
    (out / "model.json").write_text(json.dumps(spec, indent=2) + "\n")
    return spec


def save(fmt: str, model: nn.Module, example: tuple[Tensor, ...], path: Path, what: str) -> None:
    """`SAVE[fmt]`, its failure an ExportError naming `what` was exported."""
    try:
        SAVE[fmt](model, example, path)
    except Exception as error:
        raise ExportError(
            f"{fmt} export of the {what} failed ({type(error).__name__}: "
            f"{str(error).strip().splitlines()[0]}); see docs/export.md for what exports"
        ) from error


def check(path: Path, difference: float) -> float:
    """`difference`, or an ExportError if it exceeds CHECK_ATOL."""
    if difference > CHECK_ATOL:
        raise ExportError(
            f"{path} differs from the PyTorch model by {difference:.2g} (> {CHECK_ATOL}) in "
            f"its outputs on a batch of {len(CHECK_SECONDS)} other lengths"
        )
    return difference


def write_ctc(model: ASRModel, acoustic: AcousticModel, fmt: str, out: Path) -> tuple[str, float]:
    """FILES[fmt] in `out`, checked; its name and its largest difference from PyTorch."""
    sample_rate = model.frontend.sample_rate
    path = out / FILES[fmt]
    save(fmt, acoustic, noise_batch(EXAMPLE_SECONDS, sample_rate), path, "acoustic model")
    check_batch = noise_batch(CHECK_SECONDS, sample_rate, seed=1)
    return path.name, check(path, max_difference(acoustic, LOAD[fmt](path), check_batch))


@torch.no_grad()
def write_rnnt(
    model: ASRModel, acoustic: AcousticModel, fmt: str, out: Path
) -> tuple[dict[str, str], float]:
    """The encoder, prediction and joint graphs (TorchScript) in `out`, each checked against
    PyTorch on inputs of other sizes, and greedy decoding from them against the head's; their
    names and the largest difference."""
    head = model.head
    sample_rate = model.frontend.sample_rate
    graphs = {"encoder": acoustic, "prediction": PredictionStep(head), "joint": Joint(head)}
    examples = {"encoder": noise_batch(EXAMPLE_SECONDS, sample_rate)}
    checks = {"encoder": noise_batch(CHECK_SECONDS, sample_rate, seed=1)}
    for name, example in (("prediction", prediction_example), ("joint", joint_example)):
        examples[name], checks[name] = example(head, 2), example(head, 3, seed=1)
    files = {name: f"{name}.pt" for name in graphs}
    runners: dict[str, Runner] = {}
    difference = 0.0
    for name, graph in graphs.items():
        save(fmt, graph, examples[name], out / files[name], f"RNN-T {name}")
        runners[name] = LOAD[fmt](out / files[name])
        if name == "encoder":
            got = max_difference(acoustic, runners[name], checks[name])
        else:
            pairs = zip(runners[name](*checks[name]), graph(*checks[name]), strict=True)
            got = max(float((a - b).abs().max()) for a, b in pairs)
        difference = max(difference, check(out / files[name], got))
    scores, lengths = acoustic(*checks["encoder"])
    expected = [
        list(greedy_search(head, frames[:n], head.max_symbols).tokens)
        for frames, n in zip(scores, lengths.tolist(), strict=True)
    ]
    decoded = rnnt_greedy.greedy(
        **runners,
        waves=checks["encoder"][0],
        wave_lengths=checks["encoder"][1],
        blank_id=head.blank_id,
        state_shape=(head.rnn.num_layers, head.rnn.hidden_size),
        max_symbols=head.max_symbols,
    )
    if decoded != expected:
        raise ExportError(
            f"greedy decoding from the graphs in {out} gives tokens {decoded}, the PyTorch "
            f"model {expected}"
        )
    return files, difference
