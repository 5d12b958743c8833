"""Text metrics logged for every evaluated split: WER, CER and utterance accuracy."""

import jiwer
import torch
import torch.distributed as dist
from torchmetrics import MeanMetric, Metric
from torchmetrics.text import CharErrorRate, WordErrorRate


class ExactMatch(MeanMetric):
    """The share of hypotheses equal to their reference (utterance accuracy)."""

    def update(self, hyps: list[str], refs: list[str]) -> None:  # type: ignore[override]
        super().update(torch.tensor([h == r for h, r in zip(hyps, refs, strict=True)]).float())


class UtteranceErrors(Metric):
    """Each utterance's id, reference and counts (word errors, reference words, char errors,
    reference chars), gathered across processes: what a bootstrap resamples
    (asrlab.training.bootstrap) and a run keeps (asrlab.training.utterances).
    `compute()` -> (ids, references, counts (N, 4))."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("counts", default=[], dist_reduce_fx="cat")
        self.ids: list[str] = []
        self.references: list[str] = []

    def update(self, hyps: list[str], refs: list[str], ids: list[str]) -> None:  # type: ignore[override]
        counts = [_word_errors(r, h) + _char_errors(r, h) for h, r in zip(hyps, refs, strict=True)]
        self.counts.append(torch.tensor(counts, dtype=torch.long, device=self.device).view(-1, 4))
        self.ids.extend(ids)
        self.references.extend(refs)

    def compute(self) -> tuple[list[str], list[str], torch.Tensor]:
        if isinstance(self.counts, list) and not self.counts:
            return [], [], torch.zeros(0, 4, dtype=torch.long, device=self.device)
        # The tensor state is synced by torchmetrics (rank after rank); the strings alike.
        return _gathered(self.ids), _gathered(self.references), _cat(self.counts)

    def reset(self) -> None:
        super().reset()
        self.ids, self.references = [], []


def _gathered(items: list[str]) -> list[str]:
    """`items` of every process, rank after rank (this process's alone outside DDP)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return items
    parts: list[list[str] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, items)
    return [item for part in parts for item in part or []]


def _cat(state: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """A list state is a list before syncing and one tensor after."""
    return torch.cat(state) if isinstance(state, list) else state


# Every character, spaces at the ends too (jiwer's default strips them; CharErrorRate does not).
_CHARS = jiwer.ReduceToListOfListOfChars()


def _char_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character edit distance, reference characters), as CharErrorRate counts them."""
    if not reference:
        return len(hypothesis), 0
    out = jiwer.process_characters(
        reference, hypothesis, reference_transform=_CHARS, hypothesis_transform=_CHARS
    )
    return out.substitutions + out.deletions + out.insertions, len(reference)


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
