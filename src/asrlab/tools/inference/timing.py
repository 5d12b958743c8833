"""Word start and end times from a file's CTC log-probs and its transcript.

The frames of each token come from the best path when it spells the transcript (always so for
greedy decoding; linear in the frames), else from torchaudio's forced alignment of the
transcript's tokens (T x (2L + 1) bytes of memory, hence MAX_ALIGNMENT_CELLS). Tokens join into
words at the space token (characters) or at sentencepiece's word-start mark "▁" (BPE).
"""

from dataclasses import dataclass

import torch
import torchaudio.functional as AF
from torch import Tensor

from asrlab.model.ctc import ctc_feasible
from asrlab.text.bpe import BOUNDARY
from asrlab.text.tokenizer import Tokenizer

# 1 GB of forced-alignment back-pointers: an hour of speech at 30 ms frames is some 15 GB.
MAX_ALIGNMENT_CELLS = 2**30


class AlignmentError(ValueError):
    """The transcript cannot be aligned to the log-probs."""


@dataclass(frozen=True)
class WordTime:
    """A word and the seconds where its first token starts and its last token ends."""

    word: str
    start: float
    end: float


def token_words(tokenizer: Tokenizer, spans: list[AF.TokenSpan]) -> list[tuple[str, int, int]]:
    """Token spans (token id, start frame, end frame exclusive) -> (word, start, end) per word."""
    words: list[tuple[str, int, int]] = []
    new_word = True
    for span in spans:
        piece = tokenizer.vocab[span.token].replace(BOUNDARY, " ")
        if not piece.isspace() and not tokenizer.decode([span.token]):
            continue  # a token decoding drops (BPE's <unk>)
        new_word = new_word or piece[0].isspace()
        if text := piece.strip():
            if new_word:
                words.append((text, span.start, span.end))
            else:
                word, start, _ = words[-1]
                words[-1] = (word + text, start, span.end)
            new_word = False
        new_word = new_word or piece[-1].isspace()
    return words


def aligned_spans(log_probs: Tensor, ids: list[int], blank: int) -> list[AF.TokenSpan]:
    """log_probs (T, V), token ids (L,) -> one span per token, by forced alignment."""
    targets = torch.tensor([ids], dtype=torch.int32)
    frames, target_lengths = torch.tensor([len(log_probs)]), torch.tensor([len(ids)])
    if not ctc_feasible(targets, target_lengths, frames).item():
        raise AlignmentError(f"{len(ids)} tokens do not fit in {len(log_probs)} frames")
    if len(log_probs) * (2 * len(ids) + 1) > MAX_ALIGNMENT_CELLS:
        raise AlignmentError(
            f"{len(log_probs)} frames and {len(ids)} tokens are too many to force-align; "
            "decoder=greedy times words from its best path"
        )
    path, scores = AF.forced_align(log_probs[None].float(), targets, blank=blank)
    return AF.merge_tokens(path[0], scores[0].exp(), blank=blank)


def word_times(
    log_probs: Tensor, text: str, tokenizer: Tokenizer, frame_seconds: float, duration: float
) -> list[WordTime]:
    """log_probs (T, V) of one file, its transcript `text`, the seconds per frame and the
    file's duration (the last frame may reach past it) -> one WordTime per word of `text`.

    Raises AlignmentError when forced alignment is needed and the transcript does not fit the
    frames or is too long to align."""
    if not text:
        return []
    log_probs = log_probs.detach().cpu()
    scores, best = log_probs.max(dim=-1)
    words = token_words(tokenizer, AF.merge_tokens(best, scores.exp(), tokenizer.blank_id))
    if [word for word, _, _ in words] != text.split():
        spans = aligned_spans(log_probs, tokenizer.encode(text), tokenizer.blank_id)
        words = token_words(tokenizer, spans)
    return [
        WordTime(word, start * frame_seconds, min(end * frame_seconds, duration))
        for word, start, end in words
    ]
