import pytest

from asrlab.text.tokenizer import CharTokenizer, normalize_text


def test_normalisation_lowercases_strips_accents_and_punctuation() -> None:
    assert normalize_text("  Héllo,   WORLD!  It’s  well-known.  ") == "hello world it's well known"


def test_encode_decode_round_trip_and_blank_is_zero() -> None:
    tok = CharTokenizer()
    ids = tok.encode("Three one four")
    assert tok.blank_id == 0 and 0 not in ids
    assert tok.decode(ids) == "three one four"
    assert tok.vocab_size == 29


def test_unencodable_characters_are_named() -> None:
    tok = CharTokenizer()
    assert tok.unknown_chars("route 66") == {"6"}
    with pytest.raises(ValueError, match=r"\['6'\]"):
        tok.encode("route 66")


def test_state_round_trip() -> None:
    tok = CharTokenizer(alphabet="ab ")
    restored = CharTokenizer.from_state_dict(tok.state_dict())
    assert restored.vocab == tok.vocab
