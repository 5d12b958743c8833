"""Joint CTC/attention beam search (Watanabe et al. 2017): a beam search over token prefixes whose
score is a weighted sum of scorers' log-probabilities, after ESPnet's composed scorers.

A scorer gives, for each hypothesis and candidate next token, the increment of its log-score;
the hybrid's are the attention decoder's next-token log-probs (weight 1 - ctc_weight), the CTC
prefix score's increments (ctc_weight, `ctc_prefix.CTCPrefixScorer`) and, optionally, a token
n-gram LM (lm_weight). A hypothesis ends when `<eos>` is chosen; its score then sums
(1 - ctc_weight) log p_att(g | X) + ctc_weight log p_ctc(g | X) + lm_weight log p_lm(g).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from asrlab.decoders.ctc_prefix import CTCPrefixScorer
from asrlab.decoders.lm import BOS, EOS, NGramModel

StepFunction = Callable[[torch.Tensor], torch.Tensor]
"""The attention decoder's step: prefixes (N, L) token ids -> next-token log-probs (N, V)."""


class PrefixScorer(Protocol):
    def initial_state(self) -> Any:
        """The state of the empty prefix."""
        ...

    def score(
        self, prefixes: torch.Tensor, states: Sequence[Any], candidates: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[int, int], Any]]:
        """prefixes (N, L), their states, candidates (N, C) -> (log-score increments (N, C) of
        appending each candidate, the state of prefix n + candidate j as `state(n, j)`)."""
        ...


class AttentionScorer:
    """The attention decoder's next-token log-probs, from its step function (stateless here:
    the step sees the whole prefix)."""

    def __init__(self, step: StepFunction) -> None:
        self.step = step

    def initial_state(self) -> None:
        return None

    def score(
        self, prefixes: torch.Tensor, states: Sequence[None], candidates: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[int, int], None]]:
        return self.step(prefixes).gather(1, candidates), lambda n, j: None


class NGramScorer:
    """A token n-gram LM (an ARPA file whose units are the model's tokens, as `asrlab-lm --unit
    char` writes one): natural-log p(token | previous tokens), `<eos>` scored as `</s>`.
    `names[i]` is token i's unit in the LM."""

    def __init__(self, model: NGramModel, names: Sequence[str], eos: int) -> None:
        self.model = model
        self.names = [EOS if i == eos else name for i, name in enumerate(names)]

    def initial_state(self) -> None:
        return None

    def score(
        self, prefixes: torch.Tensor, states: Sequence[None], candidates: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[int, int], None]]:
        scores = [
            [math.log(10) * self.model.log10_prob(self.names[c], history) for c in row.tolist()]
            for history, row in zip(self._histories(prefixes), candidates, strict=True)
        ]
        return torch.tensor(scores), lambda n, j: None

    def _histories(self, prefixes: torch.Tensor) -> list[list[str]]:
        keep = self.model.order - 1
        return [
            ([BOS] + [self.names[t] for t in row.tolist()])[-keep:] if keep else []
            for row in prefixes
        ]


@dataclass(frozen=True)
class Hypothesis:
    """A token prefix (without `<eos>`), its score (the weighted sum of its scorers' log-scores)
    and whether it ended with `<eos>` (rather than at the search's max_length)."""

    tokens: tuple[int, ...]
    score: float
    ended: bool
    states: tuple[Any, ...] = ()

    def ranking(self, length_normalize: bool) -> float:
        """The score that orders the n-best: per token (`<eos>` counted) when length-normalised."""
        return self.score / (len(self.tokens) + self.ended) if length_normalize else self.score


def joint_beam_search(
    scorers: Sequence[tuple[PrefixScorer, float]],
    vocab_size: int,
    eos: int,
    max_length: int,
    beam_size: int = 4,
    nbest: int = 1,
    length_normalize: bool = False,
    blank: int = 0,
) -> list[Hypothesis]:
    """Beam search over token prefixes scored by the weighted `scorers` -> the `nbest` best
    hypotheses, best first.

    Every token but `blank` is a candidate at each step (`eos` always, even where it shares
    the blank's id, as the attention head's `<sos>`/`<eos>` does). Hypotheses still running after
    `max_length` tokens are ended there (`ended=False`, no `<eos>` score). Without length
    normalisation scores only fall as tokens are appended, so the search stops as soon as
    `nbest` ended hypotheses beat every running one.
    """
    scorers = [(scorer, weight) for scorer, weight in scorers if weight]  # 0 * -inf is nan
    if not scorers:
        raise ValueError("joint beam search needs a scorer of non-zero weight")
    tokens = torch.tensor([t for t in range(vocab_size) if t != blank or t == eos])
    running = [Hypothesis((), 0.0, False, tuple(s.initial_state() for s, _ in scorers))]
    ended: list[Hypothesis] = []
    for _ in range(max_length):
        prefixes = torch.tensor([h.tokens for h in running], dtype=torch.long)
        candidates = tokens.expand(len(running), -1)
        total = torch.tensor([[h.score] for h in running])
        next_states = []
        for i, (scorer, weight) in enumerate(scorers):
            scores, state = scorer.score(prefixes, [h.states[i] for h in running], candidates)
            total = total + weight * scores
            next_states.append(state)
        best = total.flatten().topk(min(beam_size, total.numel()))
        expanded = []
        for score, index in zip(best.values.tolist(), best.indices.tolist(), strict=True):
            if score == -math.inf:
                break
            n, j = divmod(index, candidates.shape[1])
            token, parent = int(candidates[n, j]), running[n]
            if token == eos:
                ended.append(Hypothesis(parent.tokens, score, True))
            else:
                states = tuple(state(n, j) for state in next_states)
                expanded.append(Hypothesis((*parent.tokens, token), score, False, states))
        running = expanded
        if not running or _settled(ended, running, nbest, length_normalize):
            break
    finished = ended + [Hypothesis(h.tokens, h.score, False) for h in running]
    finished.sort(key=lambda h: h.ranking(length_normalize), reverse=True)
    return finished[:nbest]


def _settled(
    ended: list[Hypothesis], running: list[Hypothesis], nbest: int, length_normalize: bool
) -> bool:
    """Whether no running hypothesis can enter the n-best (only known without normalisation)."""
    if length_normalize or len(ended) < nbest:
        return False
    kth_best = sorted((h.score for h in ended), reverse=True)[nbest - 1]
    return kth_best >= max(h.score for h in running)


def hybrid_scorers(
    step: StepFunction,
    ctc_log_probs: torch.Tensor,
    eos: int,
    ctc_weight: float = 0.3,
    lm: NGramScorer | None = None,
    lm_weight: float = 0.0,
    blank: int = 0,
) -> list[tuple[PrefixScorer, float]]:
    """The hybrid's weighted scorers for one utterance: attention step (1 - ctc_weight), CTC
    prefix score of its log-probs (T, V) (ctc_weight), and the LM (lm_weight) if given."""
    if not 0 <= ctc_weight <= 1:
        raise ValueError(f"decoder.ctc_weight must be within [0, 1], not {ctc_weight}")
    scorers: list[tuple[PrefixScorer, float]] = [
        (AttentionScorer(step), 1 - ctc_weight),
        (CTCPrefixScorer(ctc_log_probs, eos, blank), ctc_weight),
    ]
    return scorers + ([(lm, lm_weight)] if lm is not None else [])
