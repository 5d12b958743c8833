"""Greedy and beam search over a transducer's lattice, one utterance at a time.

The search sees the transducer through `Transducer`: the prediction network's start and its
step on one token, and the joint of one encoder frame with one prediction output.
"""

from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

PredictorState = Any  # the prediction network's recurrent state, opaque to the search


class Transducer(Protocol):
    blank_id: int

    def start(self) -> tuple[Tensor, PredictorState]:
        """The prediction output (J,) and state before any token."""
        ...

    def predict(self, token: int, state: PredictorState) -> tuple[Tensor, PredictorState]:
        """One step of the prediction network on `token` -> output (J,), next state."""
        ...

    def joint(self, frame: Tensor, prediction: Tensor) -> Tensor:
        """frame (..., J), prediction (..., J) -> token logits (..., V)."""
        ...


class Hypothesis(NamedTuple):
    tokens: tuple[int, ...]  # without blanks
    score: float  # log-probability of the alignments kept for these tokens


class _Path(NamedTuple):
    tokens: tuple[int, ...]
    score: float
    prediction: Tensor
    state: PredictorState


@torch.no_grad()
def greedy_search(model: Transducer, frames: Tensor, max_symbols: int) -> Hypothesis:
    """frames (T, J) -> the best token at each step; at most `max_symbols` tokens per frame."""
    tokens: list[int] = []
    score = 0.0
    prediction, state = model.start()
    for frame in frames:
        for _ in range(max_symbols):
            log_probs = model.joint(frame, prediction).log_softmax(dim=-1)
            token = int(log_probs.argmax())
            score += float(log_probs[token])
            if token == model.blank_id:
                break
            tokens.append(token)
            prediction, state = model.predict(token, state)
    return Hypothesis(tuple(tokens), score)


@torch.no_grad()
def beam_search(
    model: Transducer, frames: Tensor, beam_size: int, max_symbols: int
) -> list[Hypothesis]:
    """frames (T, J) -> up to `beam_size` hypotheses, best first (time-synchronous).

    At each frame the paths are extended up to `max_symbols` times; every extension competes
    with the paths already closed by a blank at this frame, and the best `beam_size` survive.
    Paths closed with the same tokens are merged (their probabilities add). With
    `beam_size=1` this is exactly `greedy_search`.
    """
    paths = [_Path((), 0.0, *model.start())]
    for frame in frames:
        closed: dict[tuple[int, ...], _Path] = {}
        active = paths
        for _ in range(max_symbols):
            extensions: list[tuple[float, _Path, int]] = []
            for path in active:
                log_probs = model.joint(frame, path.prediction).log_softmax(dim=-1)
                top = log_probs.topk(min(beam_size + 1, len(log_probs)))
                for value, token in zip(top.values.tolist(), top.indices.tolist(), strict=True):
                    extensions.append((path.score + value, path, token))
            blanks = [e for e in extensions if e[2] == model.blank_id]
            for score, path, _ in blanks:
                closed = _merge(closed, path._replace(score=score))
            pool = [(p.score, p, None) for p in closed.values()] + [
                e for e in extensions if e[2] != model.blank_id
            ]
            kept = sorted(pool, key=lambda e: -e[0])[:beam_size]  # closed first: ties go to blank
            closed = {e[1].tokens: e[1] for e in kept if e[2] is None}
            active = [
                _extend(model, path, token, score)
                for score, path, token in kept
                if token is not None
            ]
            if not active:
                break
        for path in active:
            closed = _merge(closed, path)
        paths = sorted(closed.values(), key=lambda p: -p.score)[:beam_size]
    return [Hypothesis(p.tokens, p.score) for p in paths]


def _merge(closed: dict[tuple[int, ...], _Path], path: _Path) -> dict[tuple[int, ...], _Path]:
    if path.tokens in closed:
        total = torch.logaddexp(torch.tensor(closed[path.tokens].score), torch.tensor(path.score))
        path = path._replace(score=float(total))
    return {**closed, path.tokens: path}


def _extend(model: Transducer, path: _Path, token: int, score: float) -> _Path:
    prediction, state = model.predict(token, path.state)
    return _Path((*path.tokens, token), score, prediction, state)


def search(
    model: Transducer, frames: Tensor, beam_size: int, nbest: int, max_symbols: int
) -> list[Hypothesis]:
    """frames (T, J) -> the `nbest` best hypotheses (greedy when `beam_size` is 1)."""
    if beam_size == 1:
        return [greedy_search(model, frames, max_symbols)]
    return beam_search(model, frames, beam_size, max_symbols)[:nbest]
