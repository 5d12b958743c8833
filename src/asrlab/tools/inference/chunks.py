"""Long recordings in overlapping chunks: the model's memory stays bounded, and the chunks'
log-probs are joined into one sequence for the whole file, decoded once.

Chunks start at multiples of the model's output frame (`frame` samples: the frontend's hop
times the encoder's stride), so frame j of a chunk starting at sample s is frame s / frame + j
of the file. Two neighbouring chunks are joined in the middle of their overlap: each keeps the
frames nearer its own centre, where it has context on both sides, and every frame of the file
comes from exactly one chunk.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

# Padded waveforms (B, S) and lengths (B,) -> log-probs (B, T, V) and frame lengths (B,).
Acoustic = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class Chunking:
    """Chunks of `size` samples, one starting every `step` samples; both are multiples of
    `frame`, the samples per output frame."""

    size: int
    step: int
    frame: int

    @classmethod
    def from_seconds(
        cls, chunk_seconds: float, overlap_seconds: float, sample_rate: int, frame: int
    ) -> "Chunking":
        """Chunk and overlap lengths rounded to whole output frames."""
        size = round(chunk_seconds * sample_rate / frame) * frame
        overlap = round(overlap_seconds * sample_rate / frame) * frame
        if not 0 < overlap < size:
            raise ValueError(
                f"chunk_seconds={chunk_seconds} and overlap_seconds={overlap_seconds} must give "
                f"0 < overlap < chunk in whole frames of {frame / sample_rate:g} s "
                f"(e.g. chunk_seconds=30 overlap_seconds=2)"
            )
        return cls(size, size - overlap, frame)

    def starts(self, num_samples: int) -> list[int]:
        """The first sample of each chunk of a file; the last chunk ends at the file's end and
        starts as early as it can while keeping `size`, so it has as much context as any."""
        if num_samples <= self.size:
            return [0]
        starts = list(range(0, num_samples - self.size, self.step))
        last = -(-(num_samples - self.size) // self.frame) * self.frame
        return [*starts, last]


def stitch(pieces: list[Tensor], offsets: list[int]) -> Tensor:
    """Chunk log-probs (T_c, V), each starting at file frame `offsets[c]` (increasing, each
    chunk overlapping the next) -> the file's log-probs (T, V), cut in the middle of each
    overlap."""
    cuts = [(offsets[c + 1] + offsets[c] + len(pieces[c])) // 2 for c in range(len(pieces) - 1)]
    bounds = zip([offsets[0], *cuts], [*cuts, offsets[-1] + len(pieces[-1])], strict=True)
    kept = []
    for piece, offset, (start, end) in zip(pieces, offsets, bounds, strict=True):
        if not offset <= start <= end <= offset + len(piece):
            raise ValueError(
                f"chunk at frame {offset} ({len(piece)} frames) does not reach the cut at {end}: "
                "raise overlap_seconds"
            )
        kept.append(piece[start - offset : end - offset])
    return torch.cat(kept)


def chunked_log_probs(
    acoustic: Acoustic, wave: Tensor, chunking: Chunking, batch_size: int
) -> Tensor:
    """A waveform (S,) through `acoustic` in chunks, `batch_size` at a time -> log-probs (T, V)."""
    starts = chunking.starts(len(wave))
    pieces: list[Tensor] = []
    for first in range(0, len(starts), batch_size):
        waves = [
            wave[start : start + chunking.size] for start in starts[first : first + batch_size]
        ]
        lengths = torch.tensor([len(w) for w in waves])
        scores, frames = acoustic(pad_sequence(waves, batch_first=True), lengths)
        pieces += [s[:n] for s, n in zip(scores, frames.tolist(), strict=True)]
    return stitch(pieces, [start // chunking.frame for start in starts])
