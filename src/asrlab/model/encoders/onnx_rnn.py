"""A packed GRU or LSTM as ONNX GRU / LSTM nodes, for `torch.onnx.export` (dynamo).

torch.export cannot trace `pack_padded_sequence`, and it unrolls `nn.GRU` and `nn.LSTM` over
time, fixing the time axis to the example's length. ONNX's GRU and LSTM take each utterance's
length (`sequence_lens`) and do what packing does: both directions run over the valid frames
only, and outputs beyond them are zero. `onnx_rnn` emits those nodes while exporting; run eagerly
it returns zeros.
"""

import torch
from torch import Tensor, nn

# PyTorch stacks the gates as (r, z, n) for a GRU and (i, f, g, o) for an LSTM; ONNX as (z, r, h)
# and (i, o, f, c).
GATE_ORDER = {"GRU": (1, 0, 2), "LSTM": (0, 3, 1, 2)}


def _stacked(rnn: nn.GRU | nn.LSTM, name: str, layer: int) -> Tensor:
    """(D, G * H, ...): parameter `name` (e.g. "weight_ih") of each direction of `layer`, its G
    gate blocks in ONNX's order."""
    order = list(GATE_ORDER[rnn.mode])
    suffixes = ("", "_reverse") if rnn.bidirectional else ("",)
    params = [getattr(rnn, f"{name}_l{layer}{suffix}") for suffix in suffixes]
    return torch.stack([p.unflatten(0, (len(order), -1))[order].flatten(0, 1) for p in params])


def onnx_rnn(rnn: nn.GRU | nn.LSTM, x: Tensor, lengths: Tensor) -> Tensor:
    """x (B, T, F), lengths (B,) -> (B, T, D * H) with D directions, zero beyond each length:
    what `rnn` (batch-first, with biases, in eval mode) gives over the packed sequences."""
    directions = 2 if rnn.bidirectional else 1
    attrs: dict[str, int | str] = {
        "hidden_size": rnn.hidden_size,
        "direction": "bidirectional" if rnn.bidirectional else "forward",
    }
    if rnn.mode == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch applies the reset gate after the product
    batch, frames, _ = x.shape
    h = x.transpose(0, 1)  # ONNX's (T, B, F)
    for layer in range(rnn.num_layers):
        weights = [_stacked(rnn, name, layer) for name in ("weight_ih", "weight_hh")]
        bias = torch.cat([_stacked(rnn, name, layer) for name in ("bias_ih", "bias_hh")], dim=1)
        shape = (frames, directions, batch, rnn.hidden_size)
        y = torch.onnx.ops.symbolic(
            rnn.mode, [h, *weights, bias, lengths.int()], attrs, dtype=x.dtype, shape=shape
        )  # (T, D, B, H)
        h = y.permute(0, 2, 1, 3).reshape(frames, batch, directions * rnn.hidden_size)
    return h.transpose(0, 1)
