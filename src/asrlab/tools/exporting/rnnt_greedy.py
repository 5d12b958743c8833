"""Greedy decoding of an RNN-T that asrlab-export wrote (encoder.pt, prediction.pt, joint.pt and
model.json), with torch alone: asrlab-export copies this file into the export folder.

    from rnnt_greedy import load
    decode = load("DIR")
    token_ids = decode(waves, wave_lengths)  # waves (B, S) float32, wave_lengths (B,) int64

Each utterance decodes as asrlab's greedy search does: at each encoder frame, up to
`max_symbols_per_frame` tokens, each the joint's best, until it is the blank.
"""

import json
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor


@torch.no_grad()
def greedy(
    encoder: Callable[..., tuple[Tensor, Tensor]],
    prediction: Callable[..., tuple[Tensor, Tensor, Tensor]],
    joint: Callable[..., Tensor],
    waves: Tensor,
    wave_lengths: Tensor,
    blank_id: int,
    state_shape: tuple[int, int],
    max_symbols: int,
) -> list[list[int]]:
    """waves (B, S), wave_lengths (B,) -> each utterance's token ids, blanks left out; the
    prediction state is (layers, batch, width) = (state_shape[0], 1, state_shape[1])."""
    frames, lengths = encoder(waves, wave_lengths)
    hypotheses = []
    for utterance, length in zip(frames, lengths.tolist(), strict=True):
        tokens: list[int] = []
        hidden = cell = torch.zeros(state_shape[0], 1, state_shape[1])
        output, hidden, cell = prediction(torch.tensor([blank_id]), hidden, cell)
        for frame in utterance[:length, None]:
            for _ in range(max_symbols):
                token = int(joint(frame, output).argmax())
                if token == blank_id:
                    break
                tokens.append(token)
                output, hidden, cell = prediction(torch.tensor([token]), hidden, cell)
        hypotheses.append(tokens)
    return hypotheses


def load(folder: str | Path) -> Callable[[Tensor, Tensor], list[list[int]]]:
    """The exported RNN-T in `folder` as a function (waves (B, S), wave_lengths (B,)) -> token
    ids per utterance (tokenizer.json's `vocab` names them)."""
    folder = Path(folder)
    spec = json.loads((folder / "model.json").read_text())
    graphs = {
        name: torch.jit.load(str(folder / file))
        for name, file in spec["files"]["torchscript"].items()
    }
    state = spec["prediction_state"]

    def decode(waves: Tensor, wave_lengths: Tensor) -> list[list[int]]:
        return greedy(
            **graphs,
            waves=waves,
            wave_lengths=wave_lengths,
            blank_id=spec["blank_id"],
            state_shape=(state["layers"], state["width"]),
            max_symbols=spec["max_symbols_per_frame"],
        )

    return decode
