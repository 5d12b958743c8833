"""Batches of Lhotse cuts: audio read through Lhotse (soundfile), transcripts encoded."""

import torch
from lhotse import CutSet
from lhotse.audio.backend import LibsndfileBackend, set_current_audio_backend
from lhotse.cut import Cut
from torch.utils.data import Dataset

from asrlab.data.audio import AudioError, require_finite
from asrlab.data.batch import Batch
from asrlab.data.collate import collate
from asrlab.data.dataset import Example
from asrlab.data.lhotse.cuts import first_line, source_problem, transcript
from asrlab.text.tokenizer import Tokenizer


class CutBatches(Dataset[Batch]):
    """`dataset[cuts]` -> the Batch of those cuts: mono waveforms at `sample_rate` (B, S),
    targets from the supervision texts, ids the cut ids. Raises AudioError naming the cut, also
    for audio it may not read (a pipe command; a URL unless `urls`), checked here again since a
    Shar shard's own recording manifest replaces the cut's."""

    def __init__(self, tokenizer: Tokenizer, sample_rate: int, urls: bool = False) -> None:
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate
        self.urls = urls

    def __getitem__(self, cuts: CutSet) -> Batch:  # type: ignore[override]
        set_current_audio_backend(LibsndfileBackend())
        return collate([self.example(cut) for cut in cuts])

    def example(self, cut: Cut) -> Example:
        """One cut's Example: waveform (S,), tokens, normalised transcript, cut id."""
        if problem := source_problem(cut, self.urls):
            raise AudioError(f"cut {cut.id}: {problem}")
        try:
            samples = cut.resample(self.sample_rate).load_audio()
        except Exception as err:  # lhotse raises many kinds; each one means this cut's audio
            raise AudioError(f"cut {cut.id}: cannot read its audio ({first_line(err)})") from None
        require_finite(samples, f"cut {cut.id}")
        text = transcript(cut)
        tokens = torch.tensor(self.tokenizer.encode(text), dtype=torch.long)
        wave = torch.from_numpy(samples).float().mean(dim=0)
        return Example(wave, tokens, self.tokenizer.normalize(text), cut.id)
