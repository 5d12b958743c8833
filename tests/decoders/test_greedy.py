import torch

from asrlab.decoders.greedy import GreedyDecoder
from asrlab.text.tokenizer import CharTokenizer


def _one_hot_log_probs(paths: list[list[int]], vocab: int) -> torch.Tensor:
    probs = torch.full((len(paths), max(map(len, paths)), vocab), 1e-4)
    for b, path in enumerate(paths):
        for t, token in enumerate(path):
            probs[b, t, token] = 1.0
    return probs.log_softmax(-1)


def test_collapses_repeats_and_drops_blanks_within_length() -> None:
    tok = CharTokenizer()
    a, b, space = tok.encode("a")[0], tok.encode("b")[0], tok.encode("a b")[1]
    paths = [
        [a, a, 0, a, b, b, 0, 0],  # "a a" repeated needs a blank: "aab"
        [0, b, space, space, a, 0, b, b],  # padding frames after length 5 must be ignored
    ]
    log_probs = _one_hot_log_probs(paths, tok.vocab_size)
    texts = GreedyDecoder(tok).decode(log_probs, torch.tensor([8, 5]))
    assert texts == ["aab", "b a"]


def test_all_blank_gives_empty_text() -> None:
    tok = CharTokenizer()
    log_probs = _one_hot_log_probs([[0, 0, 0]], tok.vocab_size)
    assert GreedyDecoder(tok).decode(log_probs, torch.tensor([3])) == [""]
