"""One utterance at a time: waveform and token ids, from a validated manifest."""

from typing import NamedTuple

import torch
from torch.utils.data import Dataset

from asrlab.data.audio import AudioError, read_audio
from asrlab.data.manifest import Utterance
from asrlab.text.tokenizer import Tokenizer


class Example(NamedTuple):
    wave: torch.Tensor  # (S,), or cached features (T, F)
    tokens: torch.Tensor  # (L,)
    text: str
    id: str


def make_example(utt: Utterance, tokenizer: Tokenizer, inputs: torch.Tensor) -> Example:
    """The example of one utterance: its inputs, encoded and normalised transcript, and place."""
    tokens = torch.tensor(tokenizer.encode(utt.text), dtype=torch.long)
    return Example(inputs, tokens, tokenizer.normalize(utt.text), utt.where)


class SpeechDataset(Dataset[Example]):
    """Reads audio on demand (mono, resampled to `sample_rate`) and encodes the transcript."""

    def __init__(self, utterances: list[Utterance], tokenizer: Tokenizer, sample_rate: int) -> None:
        self.utterances = utterances
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> Example:
        """Raises AudioError naming the manifest line when its audio cannot be used."""
        utt = self.utterances[index]
        try:
            wave = read_audio(utt.audio_filepath, self.sample_rate)
        except AudioError as err:
            raise AudioError(f"{utt.where}: {err}") from None
        return make_example(utt, self.tokenizer, wave)
