"""A split's head scores (CTC log-probs for a CTC head), computed once: for evaluation,
decode-only sweeps and benchmarks."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence

from asrlab.data.datamodule import ASRDataModule
from asrlab.model.module import ASRModel
from asrlab.trust.pickles import safe_load

# The saved file's layout, part of the cache key (`cache.py`): a file of another is not read.
FORMAT = 2


@dataclass
class Posteriors:
    """One entry per utterance, in loader order.

    scores: what the head's forward returned for it, float32, unpadded: (T_i, ...) cut to its
        T_i valid frames (CTC: log-probs (T_i, V)), or (C,) when the head scores the whole
        utterance (the classifier's logits).
    lengths: the head's output lengths T_i.
    texts: the normalised references; ids: utterance ids; seconds: audio durations.
    """

    scores: list[torch.Tensor]
    lengths: list[int]
    texts: list[str]
    ids: list[str]
    seconds: list[float]

    def __len__(self) -> int:
        return len(self.texts)

    def batches(self, batch_size: int = 64) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Padded scores (B, T, ...) or (B, C), and lengths (B,), in order."""
        for start in range(0, len(self), batch_size):
            chunk = slice(start, start + batch_size)
            lengths = torch.tensor(self.lengths[chunk], dtype=torch.long)
            yield pad_sequence(self.scores[chunk], batch_first=True), lengths

    def save(self, path: str | Path) -> None:
        content = {
            "scores": self.scores,
            "lengths": self.lengths,
            "texts": self.texts,
            "ids": self.ids,
            "seconds": self.seconds,
        }
        torch.save(content, path)

    @classmethod
    def load(cls, path: str | Path) -> "Posteriors":
        """Reads what `save` wrote, weights-only (`UnsafeCheckpointError` if it would run code)."""
        return cls(**safe_load(path))


def unpad(scores: torch.Tensor, lengths: list[int]) -> list[torch.Tensor]:
    """A batch's scores -> each utterance's own, on the CPU: (B, T, ...) cut to its valid frames,
    (B, C) scores of whole utterances as they are."""
    scores = scores.cpu()
    if scores.dim() == 2:
        return [s.clone() for s in scores]
    return [s[:n].clone() for s, n in zip(scores, lengths, strict=True)]


@torch.no_grad()
def compute_posteriors(model: ASRModel, datamodule: ASRDataModule, split: str) -> Posteriors:
    """Runs the acoustic model (eval mode, no augmentation, on its device) once over a split (set
    up already); the scores come back on the CPU."""
    model.eval()
    loader = datamodule.eval_dataloader(split)
    utterances = datamodule.datasets[split].utterances
    result = Posteriors([], [], [], [], [])
    # An evaluation sampler is not shuffled: iterating it again gives the loader's order.
    for indices, batch in zip(loader.batch_sampler, loader, strict=True):
        scores, lengths = model(batch.waves.to(model.device), batch.wave_lengths.to(model.device))
        lengths = lengths.tolist()
        result.scores += unpad(scores, lengths)
        result.lengths += lengths
        result.texts += batch.texts
        result.ids += batch.ids
        result.seconds += [utterances[i].duration for i in indices]
    return result
