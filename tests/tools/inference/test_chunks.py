"""Chunking and stitching, with a frame-local stand-in for the model whose chunk edges are
wrong: joined in the middle of the overlaps, the chunks give exactly the whole file's log-probs,
so no word is lost or doubled at a join."""

import pytest
import torch
from torch import Tensor

from asrlab.decoders.greedy import GreedyDecoder
from asrlab.text.tokenizer import CharTokenizer
from asrlab.tools.inference.chunks import Chunking, chunked_log_probs

FRAME = 8  # samples per output frame
TOKENIZER = CharTokenizer()
BLANK = TOKENIZER.blank_id
TEXT = " ".join(["seven", "three", "three", "one", "zero", "eight", "four", "nine"] * 6)


def labelled_wave(text: str) -> Tensor:
    """Each character's id for one frame, then a blank frame; blanks around it all. (S,)"""
    labels = (
        [BLANK] * 9 + [i for c in text for i in (TOKENIZER.vocab.index(c), BLANK)] + [BLANK] * 9
    )
    return (torch.tensor(labels, dtype=torch.float) / 64).repeat_interleave(FRAME)


def edgy_model(edge: int):
    """Log-probs (B, T, V) of the labels a wave spells, T = ceil(S / FRAME), except that the
    first and last `edge` frames of every input are blanks, as if they lacked context."""

    def acoustic(waves: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        frames = -(-lengths // FRAME)
        labels = (waves[:, ::FRAME] * 64).round().long()
        t = torch.arange(labels.shape[1])
        labels = labels.masked_fill((t < edge) | (t >= frames[:, None] - edge), BLANK)
        onehot = torch.nn.functional.one_hot(labels, TOKENIZER.vocab_size)
        return (10.0 * onehot).log_softmax(-1), frames

    return acoustic


def decode(log_probs: Tensor) -> str:
    return GreedyDecoder(TOKENIZER).decode(log_probs[None], torch.tensor([len(log_probs)]))[0]


def test_chunks_start_on_frames_overlap_and_end_at_the_file_end() -> None:
    chunking = Chunking(size=40 * FRAME, step=30 * FRAME, frame=FRAME)
    for samples in (1, 40 * FRAME, 40 * FRAME + 1, 71 * FRAME - 3, 1000 * FRAME + 5):
        starts = chunking.starts(samples)
        assert starts[0] == 0 and all(s % FRAME == 0 for s in starts)
        assert starts[-1] + chunking.size >= samples > starts[-1]
        if len(starts) > 1:  # the last chunk is as long as the others, to within a frame
            assert starts[-1] + chunking.size < samples + FRAME
        gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        assert all(0 < gap <= chunking.step for gap in gaps)


def test_chunk_and_overlap_are_whole_frames() -> None:
    chunking = Chunking.from_seconds(1.0, 0.25, sample_rate=100, frame=3)
    assert (chunking.size, chunking.step) == (99, 75)
    for chunk, overlap in ((1.0, 0.0), (1.0, 1.0), (0.01, 0.0)):
        with pytest.raises(ValueError, match="overlap"):
            Chunking.from_seconds(chunk, overlap, sample_rate=100, frame=3)


def test_stitched_chunks_equal_the_whole_file() -> None:
    wave = labelled_wave(TEXT)
    whole, _ = edgy_model(edge=4)(wave[None], torch.tensor([len(wave)]))
    assert decode(whole[0]) == TEXT
    chunking = Chunking(size=40 * FRAME, step=30 * FRAME, frame=FRAME)
    assert len(chunking.starts(len(wave))) > 15
    for trimmed in (wave, wave[:-3]):  # a file that ends in the middle of a frame, too
        stitched = chunked_log_probs(edgy_model(edge=4), trimmed, chunking, batch_size=3)
        torch.testing.assert_close(stitched, whole[0, : len(stitched)], rtol=0, atol=0)
        assert decode(stitched) == TEXT


def test_edges_wider_than_half_the_overlap_lose_letters() -> None:
    wave = labelled_wave(TEXT)
    chunking = Chunking(size=40 * FRAME, step=30 * FRAME, frame=FRAME)
    stitched = chunked_log_probs(edgy_model(edge=6), wave, chunking, batch_size=3)
    assert len(decode(stitched)) < len(TEXT)
