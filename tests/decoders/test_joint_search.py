import itertools
import math

import pytest
import torch

from asrlab.decoders.joint_search import (
    AttentionScorer,
    NGramScorer,
    hybrid_scorers,
    joint_beam_search,
)
from asrlab.decoders.lm import estimate
from helpers import ctc_label_probs

BLANK, EOS, V = 0, 3, 4  # labels 1 and 2


class TableStep:
    """A toy attention decoder: next-token log-probs (V,) by the prefix's last token (`<eos>`
    standing for the start), from a fixed (V, V) table; counts its calls."""

    def __init__(self, table: torch.Tensor) -> None:
        self.table = table
        self.calls = 0

    def __call__(self, prefixes: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        last = prefixes[:, -1] if prefixes.shape[1] else torch.full((len(prefixes),), EOS)
        return self.table[last]


def _table(seed: int, eos_bias: float = 0.0) -> torch.Tensor:
    torch.manual_seed(seed)
    logits = torch.randn(V, V)
    logits[:, BLANK] = -math.inf
    logits[:, EOS] += eos_bias
    return logits.log_softmax(-1)


def _attention_nbest(table: torch.Tensor, max_length: int, n: int) -> list[tuple]:
    """Brute force over the search's space: every label sequence shorter than max_length
    ended by `<eos>`, and those of max_length ended there, unscored -> the n best."""
    scored = []
    for length in range(max_length + 1):
        for labels in itertools.product([1, 2], repeat=length):
            path = [EOS, *labels] + ([EOS] if length < max_length else [])
            scored.append((sum(float(table[a, b]) for a, b in itertools.pairwise(path)), labels))
    return [labels for _, labels in sorted(scored, reverse=True)[:n]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ctc_weight_zero_is_attention_only_beam_search(seed: int) -> None:
    table, ctc = _table(seed), torch.randn(4, V).log_softmax(-1)
    joint = joint_beam_search(
        hybrid_scorers(TableStep(table), ctc, EOS, ctc_weight=0.0), V, EOS, 3, 16, nbest=5
    )
    attention = joint_beam_search([(AttentionScorer(TableStep(table)), 1.0)], V, EOS, 3, 16, 5)
    assert [(h.tokens, h.score) for h in joint] == [(h.tokens, h.score) for h in attention]
    assert [h.tokens for h in joint] == _attention_nbest(table, 3, 5)
    assert [h.score for h in joint] == sorted((h.score for h in joint), reverse=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ctc_weight_one_finds_the_ctc_best_label_sequence(seed: int) -> None:
    torch.manual_seed(seed)
    ctc = (2 * torch.randn(4, V)).log_softmax(-1)
    ctc[:, EOS] = -math.inf  # the CTC head never emits <eos>
    probs = ctc_label_probs(ctc[:, :EOS])
    uniform = TableStep(torch.zeros(V, V))
    best = joint_beam_search(hybrid_scorers(uniform, ctc, EOS, ctc_weight=1.0), V, EOS, 5, 32)
    expected = max(probs, key=probs.__getitem__)
    assert best[0].tokens == expected and best[0].ended
    assert best[0].score == pytest.approx(math.log(probs[expected]), abs=1e-5)


def test_max_length_stops_a_decoder_that_never_ends() -> None:
    table = _table(0)
    table[:, EOS] = -math.inf
    hyps = joint_beam_search([(AttentionScorer(TableStep(table)), 1.0)], V, EOS, 6, 3, nbest=3)
    assert len(hyps) == 3
    assert all(len(h.tokens) == 6 and not h.ended and h.score > -math.inf for h in hyps)


def test_search_stops_once_the_nbest_have_ended() -> None:
    step = TableStep(_table(0, eos_bias=3.0))
    hyps = joint_beam_search([(AttentionScorer(step), 1.0)], V, EOS, 50, 2)
    assert hyps[0].ended and step.calls < 10


def test_length_normalisation_ranks_by_score_per_token() -> None:
    step = TableStep(_table(1))
    hyps = joint_beam_search([(AttentionScorer(step), 1.0)], V, EOS, 4, 8, 6, length_normalize=True)
    per_token = [h.score / (len(h.tokens) + h.ended) for h in hyps]
    assert per_token == sorted(per_token, reverse=True)


def test_lm_shallow_fusion_scores_natural_log_probabilities() -> None:
    lm = NGramScorer(estimate([["a", "b"]] * 3 + [["b"]], order=2), ["-", "a", "b", "<e>"], EOS)
    uniform = TableStep(torch.zeros(V, V))
    ctc = torch.zeros(3, V).log_softmax(-1)
    hyps = joint_beam_search(
        hybrid_scorers(uniform, ctc, EOS, ctc_weight=0.0, lm=lm, lm_weight=1.0), V, EOS, 3, 8
    )
    expected = sum(
        lm.model.log10_prob(w, h) for w, h in [("a", ["<s>"]), ("b", ["a"]), ("</s>", ["b"])]
    )
    assert hyps[0].tokens == (1, 2)
    assert hyps[0].score == pytest.approx(math.log(10) * expected, abs=1e-5)


def test_bad_ctc_weight_names_the_key() -> None:
    with pytest.raises(ValueError, match="decoder.ctc_weight"):
        hybrid_scorers(TableStep(_table(0)), torch.zeros(2, V), EOS, ctc_weight=1.5)
