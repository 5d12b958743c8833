"""Text metrics logged for every evaluated split: WER, CER and utterance accuracy."""

import jiwer
import torch
from torchmetrics import MeanMetric, Metric
from torchmetrics.text import CharErrorRate, WordErrorRate


class ExactMatch(MeanMetric):
    """The share of hypotheses equal to their reference (utterance accuracy)."""

    def update(self, hyps: list[str], refs: list[str]) -> None:  # type: ignore[override]
        super().update(torch.tensor([h == r for h, r in zip(hyps, refs, strict=True)]).float())


class UtteranceErrors(Metric):
    """Each utterance's (word errors, reference words), gathered across processes: the pairs a
    bootstrap resamples (asrlab.training.bootstrap). `compute()` -> (errors (N,), words (N,))."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("errors", default=[], dist_reduce_fx="cat")
        self.add_state("words", default=[], dist_reduce_fx="cat")

    def update(self, hyps: list[str], refs: list[str]) -> None:  # type: ignore[override]
        counts = [_word_errors(ref, hyp) for hyp, ref in zip(hyps, refs, strict=True)]
        self.errors.append(torch.tensor([e for e, _ in counts], device=self.device))
        self.words.append(torch.tensor([w for _, w in counts], device=self.device))

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(self.errors, list) and not self.errors:
            empty = torch.zeros(0, dtype=torch.long, device=self.device)
            return empty, empty
        return _cat(self.errors), _cat(self.words)


def _cat(state: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """A list state is a list before syncing and one tensor after."""
    return torch.cat(state) if isinstance(state, list) else state


def _word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edit distance, reference words), as WordErrorRate counts them."""
    words = len(reference.split())
    if not words:
        return len(hypothesis.split()), 0
    out = jiwer.process_words(reference, hypothesis)
    return out.substitutions + out.deletions + out.insertions, words


TEXT_METRICS = {"wer": WordErrorRate, "cer": CharErrorRate, "acc": ExactMatch}


def text_scores(hyps: list[str], refs: list[str]) -> dict[str, float]:
    """Each of TEXT_METRICS over all the hypotheses and their references."""
    return {name: float(metric()(hyps, refs)) for name, metric in TEXT_METRICS.items()}
