"""A split's CTC log-probs, computed once: for evaluation, decode-only sweeps and benchmarks."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence

from asrlab.data.datamodule import ASRDataModule
from asrlab.model.module import ASRModel
from asrlab.trust.pickles import safe_load


@dataclass
class Posteriors:
    """One entry per utterance, in loader order.

    log_probs: (T_i, V) float32 each, unpadded (T_i: the encoder's output frames).
    texts: the normalised references; ids: utterance ids; seconds: audio durations.
    """

    log_probs: list[torch.Tensor]
    texts: list[str]
    ids: list[str]
    seconds: list[float]

    def __len__(self) -> int:
        return len(self.texts)

    def batches(self, batch_size: int = 64) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Padded log-probs (B, T, V) and lengths (B,), in order."""
        for start in range(0, len(self), batch_size):
            chunk = self.log_probs[start : start + batch_size]
            lengths = torch.tensor([len(lp) for lp in chunk], dtype=torch.long)
            yield pad_sequence(chunk, batch_first=True), lengths

    def save(self, path: str | Path) -> None:
        torch.save(
            {
                "log_probs": self.log_probs,
                "texts": self.texts,
                "ids": self.ids,
                "seconds": self.seconds,
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path) -> "Posteriors":
        """Reads what `save` wrote, weights-only (`UnsafeCheckpointError` if it would run code)."""
        return cls(**safe_load(path))


@torch.no_grad()
def compute_posteriors(model: ASRModel, datamodule: ASRDataModule, split: str) -> Posteriors:
    """Runs the acoustic model (eval mode, no augmentation, on its device) once over a split (set
    up already); the log-probs come back on the CPU."""
    model.eval()
    loader = datamodule.eval_dataloader(split)
    utterances = datamodule.datasets[split].utterances
    result = Posteriors([], [], [], [])
    # An evaluation sampler is not shuffled: iterating it again gives the loader's order.
    for indices, batch in zip(loader.batch_sampler, loader, strict=True):
        scores, lengths = model(batch.waves.to(model.device), batch.wave_lengths.to(model.device))
        scores = scores.cpu()
        result.log_probs += [lp[:n].clone() for lp, n in zip(scores, lengths.tolist(), strict=True)]
        result.texts += batch.texts
        result.ids += batch.ids
        result.seconds += [utterances[i].duration for i in indices]
    return result
