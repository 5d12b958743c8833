import math
from pathlib import Path

import pytest
import torch
from flashlight.lib.text.decoder.kenlm import KenLM
from flashlight.lib.text.dictionary import create_word_dict
from torchaudio.models.decoder import ctc_decoder

from asrlab.decoders.lm import (
    BOS,
    EOS,
    FALLBACK_DISCOUNTS,
    LOG10_ZERO,
    UNK,
    ARPAError,
    NGramModel,
    arpa_vocabulary,
    build_arpa,
    check_arpa,
    discounts,
    read_arpa,
    tokenize,
)

TEXTS = ["the cat sat", "The cat sat on the mat.", "a dog sat on a log", "the dog ate the cat"]


def _arpa(tmp_path: Path, texts: list[str], order: int, unit: str = "word") -> NGramModel:
    path = tmp_path / f"{unit}{order}.arpa"
    build_arpa(texts, path, order=order, unit=unit)
    return read_arpa(path)


def test_bigram_model_matches_the_hand_computation(tmp_path: Path) -> None:
    lm = _arpa(tmp_path, ["c a b b", "b c b", "a b", "b b a b"], order=2)
    # Bigram counts: <s> a 1, <s> b 2, <s> c 1, a b 3, b a 1, b b 2, b c 1, b </s> 4, c a 1, c b 1.
    # Count-of-counts n1..n4 = 6, 2, 1, 1: Y = 6 / (6 + 2*2) = 0.6,
    # D1 = 1 - 2*0.6*2/6 = 0.6, D2 = 2 - 3*0.6*1/2 = 1.1, D3+ = 3 - 4*0.6*1/1 = 0.6.
    assert discounts([6, 2, 1, 1]) == pytest.approx((0.6, 1.1, 0.6))
    # Unigram continuation counts (distinct left neighbours): a 3 (<s> b c), b 4 (<s> a b c),
    # c 2 (<s> b), </s> 1 (b); n1..n4 = 1, 1, 1, 1: Y = 1/3, D1 = 1/3, D2 = 1, D3+ = 5/3.
    assert discounts([1, 1, 1, 1]) == pytest.approx((1 / 3, 1, 5 / 3))
    # Unigrams: total 10, vocabulary a b c </s> <unk> (5), gamma = (5/3 + 5/3 + 1 + 1/3) / 10.
    gamma = (14 / 3) / 10
    unigram = {
        "a": (3 - 5 / 3) / 10 + gamma / 5,
        "b": (4 - 5 / 3) / 10 + gamma / 5,
        "c": (2 - 1) / 10 + gamma / 5,
        EOS: (1 - 1 / 3) / 10 + gamma / 5,
        UNK: gamma / 5,
    }
    assert unigram == pytest.approx(
        {"a": 17 / 75, "b": 49 / 150, "c": 29 / 150, EOS: 0.16, UNK: 7 / 75}
    )
    for word, p in unigram.items():
        assert lm.log10_probs[0][(word,)] == pytest.approx(math.log10(p), abs=1e-6)
    assert lm.log10_probs[0][(BOS,)] == LOG10_ZERO
    # History b: b b 2, b </s> 4, b c 1, b a 1; c(b.) = 8, gamma(b) = (1.1 + 0.6 + 0.6 + 0.6) / 8.
    gamma_b = 2.9 / 8
    assert 10 ** lm.log10_backoffs[0][("b",)] == pytest.approx(gamma_b, rel=1e-6)
    assert 10 ** lm.log10_prob(EOS, ["b"]) == pytest.approx(
        (4 - 0.6) / 8 + gamma_b * 0.16, rel=1e-6
    )
    assert 10 ** lm.log10_prob("b", ["b"]) == pytest.approx(
        (2 - 1.1) / 8 + gamma_b * 49 / 150, rel=1e-6
    )
    # History a: a b 3; gamma(a) = 0.6 / 3; c follows a nowhere, so it backs off.
    assert 10 ** lm.log10_prob("b", ["a"]) == pytest.approx(
        (3 - 0.6) / 3 + 0.2 * 49 / 150, rel=1e-6
    )
    assert 10 ** lm.log10_prob("c", ["a"]) == pytest.approx(0.2 * 29 / 150, rel=1e-6)
    # History <s>: <s> a 1, <s> b 2, <s> c 1 (raw counts); gamma(<s>) = (0.6 + 1.1 + 0.6) / 4.
    assert 10 ** lm.log10_prob("b", [BOS]) == pytest.approx(
        (2 - 1.1) / 4 + 0.575 * 49 / 150, rel=1e-6
    )
    assert 10 ** lm.log10_prob("zebra", ["b"]) == pytest.approx(gamma_b * 7 / 75, rel=1e-6)


def test_tiny_text_falls_back_to_fixed_discounts(tmp_path: Path) -> None:
    lm = _arpa(tmp_path, ["a b"], order=2)
    # Every count is 1, so n2 = n3 = n4 = 0 and the discounts are (0.5, 1, 1.5) at both orders.
    assert discounts([3, 0, 0, 0]) == FALLBACK_DISCOUNTS == (0.5, 1.0, 1.5)
    # Unigrams a, b, </s> have continuation count 1: total 3, gamma = 3 * 0.5 / 3, vocabulary 4.
    assert 10 ** lm.log10_prob("a") == pytest.approx(0.5 / 3 + 0.5 / 4, rel=1e-6)
    assert 10 ** lm.log10_prob(UNK) == pytest.approx(0.5 / 4, rel=1e-6)
    # Bigram a b: (1 - 0.5) / 1 + gamma(a) p(b), gamma(a) = 0.5.
    assert 10 ** lm.log10_prob("b", ["a"]) == pytest.approx(
        0.5 + 0.5 * (0.5 / 3 + 0.5 / 4), rel=1e-6
    )


def test_discounts_outside_their_range_fall_back() -> None:
    # n1 = 10, n2 = 1, n3 = 10: Y = 10/12, D2 = 2 - 3 * (10/12) * 10 < 0.
    assert discounts([10, 1, 10, 1]) == FALLBACK_DISCOUNTS
    assert discounts([4, 0, 1, 1]) == FALLBACK_DISCOUNTS


@pytest.mark.parametrize("unit", ["word", "char"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_of_each_history_sum_to_one(tmp_path: Path, order: int, unit: str) -> None:
    lm = _arpa(tmp_path, TEXTS, order, unit)
    vocab = [w for w in lm.vocab if w != BOS]
    histories = [(), *(h for backoffs in lm.log10_backoffs for h in backoffs), ("zebra", "the")]
    for history in histories:
        total = sum(10 ** lm.log10_prob(w, history) for w in vocab)
        assert total == pytest.approx(1, abs=1e-5), history
    assert all(math.isfinite(p) and p < 0 for probs in lm.log10_probs for p in probs.values())


def test_tokens_are_normalised_words_or_characters() -> None:
    assert tokenize("The cat -- sat!", "word") == ["the", "cat", "sat"]
    assert tokenize("The cat -- sat!", "char") == list("the|cat|sat")
    with pytest.raises(ValueError, match="unit"):
        tokenize("a", "bpe")


def test_char_model_has_characters_and_the_word_boundary(tmp_path: Path) -> None:
    build_arpa(TEXTS, tmp_path / "lm.arpa", order=3, unit="char")
    assert set(arpa_vocabulary(tmp_path / "lm.arpa")) == set("".join(TEXTS).lower()) - {
        ".",
        " ",
    } | {"|"}


def test_no_text_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no sentences"):
        build_arpa(["", " ... "], tmp_path / "lm.arpa")


def test_kenlm_reads_the_same_probabilities(tmp_path: Path) -> None:
    path = tmp_path / "lm.arpa"
    build_arpa(TEXTS, path, order=3)
    lm = read_arpa(path)
    sentence = ["the", "cat", "sat", "on", "a", "zebra"]
    word_dict = create_word_dict({w: [[w]] for w in [*sentence, UNK]})
    kenlm = KenLM(str(path), word_dict)
    state, history = kenlm.start(False), [BOS]
    for word in sentence:
        state, score = kenlm.score(state, word_dict.get_index(word))
        assert score == pytest.approx(lm.log10_prob(word, history), abs=1e-5)
        history.append(word)
    assert kenlm.finish(state)[1] == pytest.approx(lm.log10_prob(EOS, history), abs=1e-5)


def test_flashlight_decoder_loads_word_and_char_models(tmp_path: Path) -> None:
    tokens = ["-", "|", *"abcdefghijklmnopqrstuvwxyz'"]
    emissions = torch.randn(1, 30, len(tokens)).log_softmax(-1)
    build_arpa(TEXTS, tmp_path / "word.arpa", order=3, unit="word")
    lexicon = tmp_path / "lexicon.txt"
    words = arpa_vocabulary(tmp_path / "word.arpa")
    lexicon.write_text("".join(f"{w} {' '.join(w)} |\n" for w in words), encoding="utf-8")
    decoder = ctc_decoder(lexicon=str(lexicon), tokens=tokens, lm=str(tmp_path / "word.arpa"))
    assert set(decoder(emissions)[0][0].words) <= set(words)
    build_arpa(TEXTS, tmp_path / "char.arpa", order=4, unit="char")
    decoder = ctc_decoder(lexicon=None, tokens=tokens, lm=str(tmp_path / "char.arpa"))
    assert len(decoder(emissions)[0][0].tokens) > 0


def _break(text: str, how: str) -> str:
    """A well-formed ARPA text made malformed in one way."""
    lines = text.splitlines()
    if how == "cut":
        return "\n".join(lines[: len(lines) // 2]) + "\n"
    if how == "count":
        return text.replace("ngram 2=", "ngram 2=1", 1)
    if how == "probability":
        return text.replace("\n-", "\nx", 1)
    return "<html>not found</html>\n"


@pytest.mark.parametrize(
    ("how", "line", "message"),
    [
        ("cut", None, "no \\\\end\\\\, the file is cut short"),
        ("count", None, "the header says ngram 2=1"),
        ("probability", None, "expected a log10 probability, 1 token"),
        ("html", 1, "expected \\\\data\\\\, got '<html>"),
    ],
)
def test_a_malformed_arpa_file_is_named_with_its_line(
    tmp_path: Path, how: str, line: int | None, message: str
) -> None:
    good = tmp_path / "good.arpa"
    build_arpa(TEXTS, good, order=2)
    check_arpa(good)
    bad = tmp_path / "bad.arpa"
    bad.write_text(_break(good.read_text(), how))
    with pytest.raises(ARPAError, match=f"{bad}:{line or ''}[0-9]*: {message}"):
        check_arpa(bad)
