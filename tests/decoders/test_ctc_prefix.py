import math

import pytest
import torch

from asrlab.decoders.ctc_prefix import CTCPrefixScorer
from helpers import ctc_label_probs

BLANK, EOS = 0, 3


def _toy(frames: int, seed: int) -> torch.Tensor:
    """CTC log-probs (T, 3): blank and the labels 1, 2."""
    torch.manual_seed(seed)
    return torch.randn(frames, 3).log_softmax(-1).double()


def _state_of(scorer: CTCPrefixScorer, prefix: tuple[int, ...]):
    state = scorer.initial_state()
    for i, token in enumerate(prefix):
        _, next_state = scorer.score(torch.tensor([prefix[:i]]), [state], torch.tensor([[token]]))
        state = next_state(0, 0)
    return state


@pytest.mark.parametrize(
    ("frames", "seed", "impossible"),
    [(3, 0, None), (4, 1, None), (4, 2, None), (4, 2, (1, 2)), (5, 3, (0, 1))],
)
def test_prefix_score_sums_the_ctc_probability_of_every_continuation(
    frames, seed, impossible
) -> None:
    """`impossible` (frame, label): that label has probability 0 there (log-prob -inf), which
    the scorer's running sums over frames must survive."""
    log_probs = _toy(frames, seed)
    if impossible:
        log_probs[impossible] = -math.inf
        log_probs = log_probs.log_softmax(-1)
    probs = ctc_label_probs(log_probs)
    scorer = CTCPrefixScorer(log_probs, eos=EOS)
    prefixes = [(), (1,), (2,), (1, 1), (1, 2), (2, 2, 1)]
    candidates = torch.tensor([1, 2, EOS]).expand(len(prefixes), -1)
    log_psi, _ = scorer.extend([_state_of(scorer, g) for g in prefixes], candidates)
    for prefix, scores in zip(prefixes, log_psi.tolist(), strict=True):
        for c, score in zip([1, 2], scores[:2], strict=True):
            h = (*prefix, c)
            expected = sum(p for labels, p in probs.items() if labels[: len(h)] == h)
            assert math.exp(score) == pytest.approx(expected, abs=1e-6), (prefix, c)
        assert math.exp(scores[2]) == pytest.approx(probs.get(prefix, 0.0), abs=1e-6)


@pytest.mark.parametrize("labels", [(1,), (1, 2), (2, 2), (1, 2, 1)])
def test_eos_score_is_the_ctc_loss_of_the_sequence(labels) -> None:
    log_probs = _toy(5, 3)
    scorer = CTCPrefixScorer(log_probs, eos=EOS)
    log_p, _ = scorer.extend([_state_of(scorer, labels)], torch.tensor([[EOS]]))
    loss = torch.nn.functional.ctc_loss(
        log_probs, torch.tensor([labels]), [len(log_probs)], [len(labels)], reduction="sum"
    )
    assert float(log_p[0, 0]) == pytest.approx(-float(loss), abs=1e-6)


def test_prefix_longer_than_the_frames_scores_minus_infinity() -> None:
    scorer = CTCPrefixScorer(_toy(2, 0), eos=EOS)
    log_psi, _ = scorer.extend([_state_of(scorer, (1, 1))], torch.tensor([[1, 2, EOS]]))
    assert log_psi.tolist() == [[-math.inf] * 3]
