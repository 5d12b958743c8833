"""Beam search fused with an n-gram LM written by asrlab.decoders.lm."""

from pathlib import Path

import pytest
import torch

from asrlab.decoders.beam import BeamDecoder
from asrlab.decoders.greedy import GreedyDecoder
from asrlab.decoders.lm import build_arpa
from asrlab.text.tokenizer import CharTokenizer


def test_beam_of_one_without_lm_equals_greedy_on_random_log_probs() -> None:
    tok = CharTokenizer()
    torch.manual_seed(1)
    log_probs = (3 * torch.randn(4, 40, tok.vocab_size)).log_softmax(-1)
    lengths = torch.tensor([40, 33, 17, 1])
    beam = BeamDecoder(tok, beam_size=1, lm=None).decode(log_probs, lengths)
    assert beam == GreedyDecoder(tok).decode(log_probs, lengths)


LM_TEXTS = ["the cat sat", "the cat sat on the mat", "a cat sat on a mat", "the cap fits"]


def _ambiguous_cat(tok: CharTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probs (1, T, V) of "the ca? sat" where the last letter of "ca?" sounds slightly more
    like "p" than "t"."""
    path = "_the_ _ca*_ _sat_"
    logits = torch.zeros(1, len(path), tok.vocab_size)
    for t, char in enumerate(path):
        if char == "*":
            logits[0, t, tok.vocab.index("p")], logits[0, t, tok.vocab.index("t")] = 5.0, 4.5
        else:
            logits[0, t, tok.vocab.index("<blank>" if char == "_" else char)] = 5.0
    return logits.log_softmax(-1), torch.tensor([len(path)])


@pytest.mark.parametrize("unit, order", [("word", 2), ("char", 4)])
def test_lm_picks_the_likely_word_where_the_acoustics_hesitate(
    unit: str, order: int, tmp_path: Path
) -> None:
    tok = CharTokenizer()
    log_probs, lengths = _ambiguous_cat(tok)
    lm = str(tmp_path / "lm.arpa")
    build_arpa(LM_TEXTS, lm, order=order, unit=unit)
    assert GreedyDecoder(tok).decode(log_probs, lengths) == ["the cap sat"]
    words = sorted({w for text in LM_TEXTS for w in text.split()})
    assert BeamDecoder(tok, words=words).decode(log_probs, lengths) == ["the cap sat"]
    # A word LM spells its own unigrams; a character LM decodes without a word list.
    with_lm = BeamDecoder(tok, lm=lm, lm_weight=0.5)
    assert with_lm.constrained == (unit == "word")
    assert with_lm.decode(log_probs, lengths) == ["the cat sat"]


def test_character_lm_refuses_a_word_list(tmp_path: Path) -> None:
    lm = str(tmp_path / "lm.arpa")
    build_arpa(LM_TEXTS, lm, order=3, unit="char")
    with pytest.raises(ValueError, match="character LM"):
        BeamDecoder(CharTokenizer(), words=["cat"], lm=lm)


def test_loading_an_lm_prints_no_kenlm_banner(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    lm = str(tmp_path / "lm.arpa")
    build_arpa(LM_TEXTS, lm, order=2, unit="word")
    BeamDecoder(CharTokenizer(), lm=lm)
    assert capfd.readouterr().err == ""


def test_an_lm_kenlm_refuses_is_a_one_line_error_naming_it(tmp_path: Path) -> None:
    lm = tmp_path / "unigram.arpa"  # well-formed, but KenLM needs at least bigrams
    lm.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\tcat\n-1.0\tdog\n\n\\end\\\n")
    with pytest.raises(ValueError, match=f"cannot load lm={lm} into the beam decoder: ") as err:
        BeamDecoder(CharTokenizer(), lm=str(lm))
    assert "bigram" in str(err.value) and "\n" not in str(err.value)
