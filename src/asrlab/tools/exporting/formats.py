"""Writing a graph (an `AcousticModel`, or an RNN-T's prediction step or joint) as TorchScript,
the acoustic model also as ONNX, and running the written file again.

TorchScript is `torch.jit.trace`: the frontend is not scriptable (module-level constants), and
tracing records packed recurrences with their lengths as tensors. ONNX is the dynamo exporter
(`torch.onnx.export(..., dynamo=True)`) at opset 18 (at 17, torch's STFT became a ReduceL2 with
an attribute opset 17 lacks). The frontend's STFT is written as a convolution, which onnxruntime
runs over 20 times faster than its STFT node (`asrlab.model.onnx_stft`); recurrent encoders
become ONNX GRU / LSTM nodes over per-utterance lengths (`asrlab.model.encoders.onnx_rnn`).
Both have a
dynamic batch axis and a dynamic samples axis.
"""

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnxruntime
import torch
from torch import Tensor, nn

from asrlab.tools.exporting.acoustic import AcousticModel

OPSET = 18
INPUTS = ("waves", "wave_lengths")
OUTPUTS = ("log_probs", "lengths")
DYNAMIC_AXES = {
    "waves": {0: "batch", 1: "samples"},
    "wave_lengths": {0: "batch"},
    "log_probs": {0: "batch", 1: "frames"},
    "lengths": {0: "batch"},
}
FILES = {"torchscript": "model.pt", "onnx": "model.onnx"}

Batch = tuple[Tensor, Tensor]  # waves (B, S) float32, wave_lengths (B,) int64
Runner = Callable[[Tensor, Tensor], Batch]  # (waves, wave_lengths) -> (log_probs, lengths)


def save_torchscript(model: nn.Module, example: tuple[Tensor, ...], path: Path) -> None:
    # Tracing warns wherever Python sees a tensor's value; whether the trace generalises is
    # what the check on other lengths (asrlab.tools.exporting.bundle) finds out.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, example, check_trace=False)
    traced.save(str(path))


def save_onnx(model: AcousticModel, example: Batch, path: Path) -> None:
    dims = {axis: torch.export.Dim(axis) for axis in ("batch", "samples")}
    torch.onnx.export(
        model,
        example,
        str(path),
        dynamo=True,
        opset_version=OPSET,
        input_names=list(INPUTS),
        output_names=list(OUTPUTS),
        dynamic_shapes={
            name: {i: dims[axis] for i, axis in DYNAMIC_AXES[name].items()} for name in INPUTS
        },
        external_data=False,
        verbose=False,
    )


def load_torchscript(path: Path) -> Runner:
    """The TorchScript file, run by torch (no asrlab code involved) on its inputs."""
    module = torch.jit.load(str(path))

    @torch.no_grad()
    def run(*inputs: Tensor) -> Any:
        return module(*inputs)

    return run


def load_onnx(path: Path, threads: int | None = None) -> Runner:
    """The ONNX file, run by an onnxruntime `InferenceSession` on the CPU; `threads` sets its
    intra- and inter-op thread counts (default: onnxruntime's own)."""
    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = options.inter_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(waves: Tensor, wave_lengths: Tensor) -> Batch:
        inputs = {"waves": waves.numpy(), "wave_lengths": wave_lengths.numpy()}
        log_probs, lengths = session.run(list(OUTPUTS), inputs)
        return torch.from_numpy(log_probs), torch.from_numpy(lengths)

    return run


SAVE: dict[str, Callable[[AcousticModel, Batch, Path], None]] = {
    "torchscript": save_torchscript,
    "onnx": save_onnx,
}
LOAD: dict[str, Callable[[Path], Runner]] = {"torchscript": load_torchscript, "onnx": load_onnx}
