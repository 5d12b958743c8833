"""Text metrics logged for every evaluated split: WER, CER and utterance accuracy."""

import torch
from torchmetrics import MeanMetric
from torchmetrics.text import CharErrorRate, WordErrorRate


class ExactMatch(MeanMetric):
    """The share of hypotheses equal to their reference (utterance accuracy)."""

    def update(self, hyps: list[str], refs: list[str]) -> None:  # type: ignore[override]
        super().update(torch.tensor([h == r for h, r in zip(hyps, refs, strict=True)]).float())


TEXT_METRICS = {"wer": WordErrorRate, "cer": CharErrorRate, "acc": ExactMatch}


def text_scores(hyps: list[str], refs: list[str]) -> dict[str, float]:
    """Each of TEXT_METRICS over all the hypotheses and their references."""
    return {name: float(metric()(hyps, refs)) for name, metric in TEXT_METRICS.items()}
