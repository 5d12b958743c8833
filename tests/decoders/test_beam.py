import pytest
import torch

from asrlab.decoders.beam import BeamDecoder
from asrlab.decoders.greedy import GreedyDecoder
from asrlab.text.tokenizer import CharTokenizer


def _log_probs(paths: list[str], tokenizer: CharTokenizer, noise: float = 0.5) -> torch.Tensor:
    """Frame-wise posteriors favouring each path's token ('_' is blank), plus random noise."""
    torch.manual_seed(0)
    logits = noise * torch.randn(len(paths), max(map(len, paths)), tokenizer.vocab_size)
    for b, path in enumerate(paths):
        for t, char in enumerate(path):
            logits[b, t, tokenizer.vocab.index("<blank>" if char == "_" else char)] += 5.0
    return logits.log_softmax(-1)


@pytest.mark.parametrize("noise", [0.5, 1.5, 3.0])
def test_beam_of_one_without_lexicon_equals_greedy(noise: float) -> None:
    tok = CharTokenizer()
    paths = ["_tt_w_oo_ _o_n_e__", "f_ive__"]
    log_probs = _log_probs(paths, tok, noise=noise)
    lengths = torch.tensor([len(p) for p in paths])
    beam = BeamDecoder(tok, beam_size=1).decode(log_probs, lengths)
    assert beam == GreedyDecoder(tok).decode(log_probs, lengths)
    if noise < 1:
        assert beam == ["two one", "five"]


def test_word_list_turns_misspellings_into_words() -> None:
    tok = CharTokenizer()
    paths = ["_f_o_v_e__", "_s_e_v_n_"]
    log_probs = _log_probs(paths, tok)
    lengths = torch.tensor([len(p) for p in paths])
    assert GreedyDecoder(tok).decode(log_probs, lengths) == ["fove", "sevn"]
    words = "zero one two three four five six seven eight nine".split()
    assert BeamDecoder(tok, words=words).decode(log_probs, lengths) == ["five", "seven"]


def test_nbest_is_sorted_by_score() -> None:
    tok = CharTokenizer()
    decoder = BeamDecoder(tok, nbest=3, words=["one", "two", "none"])
    (hypotheses,) = decoder.nbest(_log_probs(["_o_n_e_"], tok), torch.tensor([7]))
    scores = [score for _, score in hypotheses]
    assert hypotheses[0][0] == "one" and scores == sorted(scores, reverse=True)


def test_word_list_decodes_several_words() -> None:
    tok = CharTokenizer()
    path = "_t_w_o_ _o_n_n_e_ _n_i_n_e_"
    log_probs = _log_probs([path], tok)
    words = "zero one two three four five six seven eight nine".split()
    assert BeamDecoder(tok, words=words).decode(log_probs, torch.tensor([len(path)])) == [
        "two one nine"
    ]


def test_cuda_device_without_a_gpu_decodes_on_the_cpu_and_says_so(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    tok = CharTokenizer()
    paths = ["_tt_w_oo_ _o_n_e__", "f_ive__"]
    log_probs = _log_probs(paths, tok)
    lengths = torch.tensor([len(p) for p in paths])
    decoder = BeamDecoder(tok, device="cuda")
    assert decoder.device == "cpu"
    assert "decoder.device=cuda: torch sees no CUDA device" in caplog.text
    assert decoder.decode(log_probs, lengths) == ["two one", "five"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"device": "tpu"}, "decoder.device must be one of"),
        ({"device": "cuda", "words": ["one"]}, "takes no words, lexicon or lm"),
    ],
)
def test_bad_device_settings_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BeamDecoder(CharTokenizer(), **kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_beam_search_agrees_with_the_cpu_one() -> None:
    tok = CharTokenizer()
    paths = ["_tt_w_oo_ _o_n_e__", "f_ive__"]
    log_probs = _log_probs(paths, tok)
    lengths = torch.tensor([len(p) for p in paths])
    cpu = BeamDecoder(tok).decode(log_probs, lengths)
    assert BeamDecoder(tok, device="cuda").decode(log_probs, lengths) == cpu == ["two one", "five"]
