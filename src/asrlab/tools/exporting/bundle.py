"""A checkpoint exported into a folder: the model files, tokenizer.json and model.json.

Each written file is run again (by torch or onnxruntime) on a batch of other sizes and lengths
than the one it was exported with, and compared with PyTorch: a file whose shapes were frozen at
export, or whose numbers drifted, is an error, not a silent bad export.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

import asrlab
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import Tokenizer
from asrlab.tools.exporting.acoustic import AcousticModel
from asrlab.tools.exporting.formats import DYNAMIC_AXES, FILES, LOAD, OPSET, SAVE, Batch, Runner
from asrlab.training.checkpoint import load_model

# Export at batch 2 with two lengths; check at batch 3 with other lengths, one under a frame.
EXAMPLE_SECONDS = (1.0, 0.75)
CHECK_SECONDS = (0.5, 1.3, 0.01)
# Largest difference from PyTorch on the check batch's valid log-probs that still passes.
# TorchScript is exact; ONNX, its STFT a convolution (asrlab.model.onnx_stft), is within
# about 1e-5. An ONNX GRU with its reset gate misplaced was off by 0.15.
CHECK_ATOL = 1e-2


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


def describe(model: ASRModel, cfg: DictConfig, tokenizer: Tokenizer) -> dict[str, Any]:
    """model.json: the inputs, outputs and time scales of the exported model."""
    return {
        "asrlab_version": asrlab.__version__,
        "torch_version": torch.__version__,
        "inputs": {
            "waves": "float32 (batch, samples): mono waveforms at sample_rate, zero-padded",
            "wave_lengths": "int64 (batch,): valid samples of each waveform",
        },
        "outputs": {
            "log_probs": "float32 (batch, frames, vocab_size): CTC log-probs (natural log); "
            "frames at or beyond lengths are padding",
            "lengths": "int64 (batch,): valid frames of each utterance",
        },
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
    ("torchscript", "onnx"), with tokenizer.json and model.json; returns model.json's content."""
    model, cfg = load_model(checkpoint)
    acoustic = AcousticModel(model)
    sample_rate = cfg.data.sample_rate
    example = noise_batch(EXAMPLE_SECONDS, sample_rate)
    check = noise_batch(CHECK_SECONDS, sample_rate, seed=1)
    spec = describe(model, cfg, model.tokenizer)
    out.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        path = out / FILES[fmt]
        try:
            SAVE[fmt](acoustic, example, path)
        except Exception as error:
            raise ExportError(
                f"{fmt} export of the {spec['encoder']} model failed ({type(error).__name__}: "
                f"{str(error).strip().splitlines()[0]}); see README 'Export' for what exports"
            ) from error
        difference = max_difference(acoustic, LOAD[fmt](path), check)
        if difference > CHECK_ATOL:
            raise ExportError(
                f"{path} differs from the PyTorch model by {difference:.2g} (> {CHECK_ATOL}) in "
                f"its log-probs on a batch of {len(CHECK_SECONDS)} other lengths"
            )
        spec["files"][fmt] = path.name
        spec["check"]["max_abs_diff"][fmt] = difference
        if fmt == "onnx":
            spec["opset"] = OPSET
    tokenizer = json.dumps(tokenizer_json(model.tokenizer), indent=2, ensure_ascii=False)
    (out / "tokenizer.json").write_text(tokenizer + "\n", encoding="utf-8")
    (out / "model.json").write_text(json.dumps(spec, indent=2) + "\n")
    return spec
