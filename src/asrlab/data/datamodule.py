"""LightningDataModule: a source's manifests -> validated datasets -> padded Batches."""

from pathlib import Path
from typing import Protocol

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from asrlab.data.collate import collate
from asrlab.data.dataset import SpeechDataset
from asrlab.data.manifest import read_manifest, validate
from asrlab.data.tokenizer import CharTokenizer

SPLITS = ("train", "val", "test")


class Source(Protocol):
    """A dataset recipe: makes (or finds) one JSONL manifest per split."""

    def prepare(self) -> dict[str, Path]: ...


class ASRDataModule(pl.LightningDataModule):
    """Validates every manifest line up front, so bad data fails before training starts."""

    def __init__(
        self,
        source: Source,
        tokenizer: CharTokenizer,
        sample_rate: int = 16000,
        batch_size: int = 32,
        eval_batch_size: int = 64,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.source = source
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.datasets: dict[str, SpeechDataset] = {}

    def prepare_data(self) -> None:
        self.source.prepare()

    def setup(self, stage: str | None = None) -> None:
        manifests = self.source.prepare()
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}
        for split in wanted.get(stage, SPLITS) if stage else SPLITS:
            if split not in self.datasets:
                utterances = read_manifest(manifests[split])
                validate(utterances, self.tokenizer)
                self.datasets[split] = SpeechDataset(utterances, self.tokenizer, self.sample_rate)

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.datasets[split],
            batch_size=batch_size,
            shuffle=shuffle,
            collate_fn=collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, shuffle=False)
