"""Word times from synthetic log-probs whose best path, hence the answer, is known exactly."""

import pytest
import torch

from asrlab.text.bpe import BPETokenizer
from asrlab.text.tokenizer import CharTokenizer
from asrlab.tools.inference.timing import AlignmentError, word_times

FRAME = 0.03


def peaked(labels: list[int], vocab_size: int) -> torch.Tensor:
    """(T, V) log-probs whose best token at frame t is labels[t], by a wide margin."""
    return (10.0 * torch.nn.functional.one_hot(torch.tensor(labels), vocab_size)).log_softmax(-1)


def char_labels(tokenizer: CharTokenizer, frames: str) -> list[int]:
    """The id of each character of `frames`, one per frame; "_" is the blank."""
    return [tokenizer.blank_id if c == "_" else tokenizer.vocab.index(c) for c in frames]


def test_char_words_take_the_frames_of_their_first_and_last_letters() -> None:
    tokenizer = CharTokenizer()
    # A blank splits the repeated c.
    log_probs = peaked(char_labels(tokenizer, "_aab_ c_c_"), 29)
    words = word_times(log_probs, "ab cc", tokenizer, FRAME, duration=1.0)
    assert [w.word for w in words] == ["ab", "cc"]
    assert [(w.start, w.end) for w in words] == [
        pytest.approx((1 * FRAME, 4 * FRAME)),  # a a b: frames 1-3
        pytest.approx((6 * FRAME, 9 * FRAME)),  # c _ c: frames 6-8
    ]


def test_the_last_word_ends_at_the_file_end_at_the_latest() -> None:
    tokenizer = CharTokenizer()
    log_probs = peaked(char_labels(tokenizer, "_hi"), 29)
    (word,) = word_times(log_probs, "hi", tokenizer, FRAME, duration=0.08)
    assert (word.start, word.end) == (pytest.approx(FRAME), 0.08)  # frame 2 ends at 0.09


def test_a_text_other_than_the_best_path_is_force_aligned() -> None:
    tokenizer = CharTokenizer()
    c, a, t = tokenizer.encode("cat")
    logits = torch.full((4, 29), -10.0)
    logits[0, c] = logits[1, a] = logits[3, 0] = 0.0
    logits[2, t], logits[2, 0], logits[2, a] = 0.0, -1.0, -5.0  # blank beats a after "ca"
    words = word_times(logits.log_softmax(-1), "ca", tokenizer, FRAME, duration=1.0)
    assert [(w.word, w.start, w.end) for w in words] == [("ca", 0.0, pytest.approx(2 * FRAME))]


def test_a_text_longer_than_the_frames_allow_is_refused() -> None:
    tokenizer = CharTokenizer()
    log_probs = peaked(char_labels(tokenizer, "_a_"), 29)
    with pytest.raises(AlignmentError, match="do not fit"):
        word_times(log_probs, "aaa", tokenizer, FRAME, duration=1.0)  # needs 5 frames


def test_bpe_words_start_at_the_word_mark_and_unk_is_dropped() -> None:
    texts = ["one two three", "three two one", "one one two", "two three three"]
    tokenizer = BPETokenizer.train(texts, vocab_size=30)
    two = tokenizer.encode("two")  # a piece starting with "▁", then maybe more
    one = [tokenizer.vocab.index(p) for p in ("▁", "o", "n", "e")]  # the mark on its own
    labels = [0, *two, tokenizer.unk_id, 0, *one, 0]
    log_probs = peaked(labels, tokenizer.vocab_size)
    text = tokenizer.decode(labels)
    assert text == "two one"
    words = word_times(log_probs, text, tokenizer, FRAME, duration=1.0)
    assert [w.word for w in words] == ["two", "one"]
    assert words[0].start == pytest.approx(FRAME)
    assert words[0].end == pytest.approx((1 + len(two)) * FRAME)  # <unk> is not part of it
    assert words[1].start == pytest.approx((len(two) + 4) * FRAME)  # at "▁", before the o
    assert words[1].end == pytest.approx((len(labels) - 1) * FRAME)


def test_an_empty_text_has_no_words() -> None:
    tokenizer = CharTokenizer()
    assert word_times(peaked(char_labels(tokenizer, "__"), 29), "", tokenizer, FRAME, 1.0) == []
