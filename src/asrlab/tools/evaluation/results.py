"""What an evaluation found: per decoder, the scored utterances and the split's metrics."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asrlab.tools.evaluation.scoring import Confusions, UtteranceScore


@dataclass
class DecoderResult:
    """One decoder's hypotheses on the split, scored. `metrics`: wer, cer and acc over all the
    utterances (torchmetrics); the real-time factor is decode seconds / audio seconds."""

    name: str
    config: dict[str, Any]
    scores: list[UtteranceScore]
    metrics: dict[str, float]
    decode_seconds: float
    audio_seconds: float

    @property
    def rtf(self) -> float:
        return self.decode_seconds / self.audio_seconds

    def summary(self) -> dict[str, Any]:
        """The decoder's entry in metrics.json."""
        return {
            **self.metrics,
            "utterances": len(self.scores),
            "audio_seconds": self.audio_seconds,
            "decode_seconds": self.decode_seconds,
            "rtf": self.rtf,
            "decoder": self.config,
        }

    def confusions(self) -> Confusions:
        return Confusions.of(score.alignment for score in self.scores)

    def worst(self, n: int) -> list[UtteranceScore]:
        """The `n` utterances with the most word errors (then character edits); none correct."""
        wrong = [score for score in self.scores if score.char_edits]
        return sorted(wrong, key=lambda s: (-s.alignment.errors, -s.char_edits))[:n]


@dataclass
class Evaluation:
    """A checkpoint on a split: the acoustic model ran once, each decoder decoded its output."""

    checkpoint: Path
    split: str
    utterances: int
    skipped: int
    audio_seconds: float
    acoustic_seconds: float
    results: list[DecoderResult]

    @property
    def acoustic_rtf(self) -> float:
        return self.acoustic_seconds / self.audio_seconds

    def metrics(self) -> dict[str, Any]:
        """metrics.json: the evaluation, then each decoder's metrics and settings."""
        return {
            "checkpoint": str(self.checkpoint),
            "split": self.split,
            "utterances": self.utterances,
            "skipped_utterances": self.skipped,
            "audio_seconds": self.audio_seconds,
            "acoustic_seconds": self.acoustic_seconds,
            "acoustic_rtf": self.acoustic_rtf,
            "decoders": {result.name: result.summary() for result in self.results},
        }
