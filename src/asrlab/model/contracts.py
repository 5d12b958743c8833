"""What a frontend, an encoder, a head and a decoder are: the parts `ASRModel` chains.

Waveform (B, S) -> frontend -> features (B, T, F) -> encoder -> states (B, T', H) -> head ->
scores -> decoder -> text. Every part takes and returns the valid lengths (B,) of its padded
batch. The contract tests check each implementation with `isinstance` against these protocols.
"""

from typing import Protocol, runtime_checkable

from torch import Tensor

from asrlab.data.batch import Batch
from asrlab.model.probe import ProbeMatrix


@runtime_checkable
class Frontend(Protocol):
    """forward(wave (B, S), wave_lengths (B,)) -> feats (B, T, F), lengths (B,).

    A frame every `hop_samples` samples at `sample_rate`; F = `n_features`.
    """

    n_features: int
    hop_samples: int
    sample_rate: int

    def __call__(self, wave: Tensor, wave_lengths: Tensor) -> tuple[Tensor, Tensor]: ...

    def output_frames(self, samples: Tensor) -> Tensor:
        """(N,) valid samples -> (N,) the feature frames `forward` gives them."""
        ...


@runtime_checkable
class Encoder(Protocol):
    """forward(x (B, T, F), lengths (B,)) -> h (B, T', H), lengths' (B,); H = `output_dim`.

    One output frame per `stride` input frames; `stride_argument` names the constructor
    argument (the config key) that sets it.
    """

    output_dim: int
    stride: int
    stride_argument: str

    def __call__(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]: ...

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        """The output frames `forward` gives n valid input frames (an int or a tensor of them)."""
        ...


@runtime_checkable
class Decoder(Protocol):
    """A search over a CTC head's log-probs (B, T', V), lengths (B,) -> one text per utterance."""

    def decode(self, log_probs: Tensor, lengths: Tensor) -> list[str]: ...


@runtime_checkable
class Head(Protocol):
    """forward(h (B, T', H), lengths (B,)) -> scores (CTC log-probs (B, T', V), class logits
    (B, C) or transducer states (B, T', J)), lengths (B,); the loss on them, their decoding
    into text and the pictures of the probe view."""

    ctc_weight: float
    """The CTC loss's weight in `loss` (0: none); above 0, the pre-flight checks that every
    utterance has the encoder frames CTC needs."""

    def __call__(self, hidden: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]: ...

    def loss(self, scores: Tensor, lengths: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """The scalar loss, and how many utterances it had to skip (a scalar tensor)."""
        ...

    def decode(self, scores: Tensor, lengths: Tensor) -> list[str]: ...

    def validation_decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        """The transcripts validation scores: `decode`'s, or where the head's search is costly
        and `head.val_search: greedy`, a greedy pass's."""
        ...

    def probe_views(self, scores: Tensor, lengths: Tensor) -> list[list[ProbeMatrix]]:
        """Per utterance, the pictures the probe view shows of it (none for a classifier)."""
        ...
