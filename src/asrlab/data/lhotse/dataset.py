"""Batches of Lhotse cuts: audio read through Lhotse (soundfile), or decoded by soundfile from
memory for a whole Shar recording; transcripts encoded."""

import io
import struct

import numpy as np
import soundfile
import torch
from lhotse import CutSet
from lhotse.audio.backend import LibsndfileBackend, set_current_audio_backend
from lhotse.cut import Cut
from torch.utils.data import Dataset

from asrlab.data.audio import AudioError, require_finite
from asrlab.data.batch import Batch
from asrlab.data.collate import collate
from asrlab.data.dataset import Example
from asrlab.data.lhotse.cuts import source_problem, transcript
from asrlab.data.lhotse.shar import first_line
from asrlab.text.tokenizer import Tokenizer

WAVE_FORMAT_PCM = 1


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
            samples = in_memory(cut, self.sample_rate)
            if samples is None:
                samples = cut.resample(self.sample_rate).load_audio()
        except Exception as err:  # lhotse raises many kinds; each one means this cut's audio
            raise AudioError(f"cut {cut.id}: cannot read its audio ({first_line(err)})") from None
        require_finite(samples, f"cut {cut.id}")
        text = transcript(cut)
        tokens = torch.tensor(self.tokenizer.encode(text), dtype=torch.long)
        wave = torch.from_numpy(samples).float()
        wave = wave[0] if len(wave) == 1 else wave.mean(dim=0)
        return Example(wave, tokens, self.tokenizer.normalize(text), cut.id)


def in_memory(cut: Cut, sample_rate: int) -> np.ndarray | None:
    """The audio (C, S) of a cut that is the whole of a recording held in memory (a Shar cut's)
    at `sample_rate`, decoded by `decode`; None for any other cut (Lhotse reads those)."""
    recording = getattr(cut, "recording", None)
    if (
        recording is None
        or len(recording.sources) != 1
        or recording.sources[0].type != "memory"
        or recording.sampling_rate != sample_rate
        or cut.start != 0
        or cut.num_samples != recording.num_samples
        or list(cut.channel if isinstance(cut.channel, list) else [cut.channel])
        != recording.channel_ids
    ):
        return None
    return decode(recording.sources[0].source)


def decode(data: bytes) -> np.ndarray:
    """Audio file bytes as float32 samples (C, S): 16-bit PCM WAV read off its chunks here
    (soundfile reading from memory takes 5 times the CPU, the standard library's `wave` 3
    times), any other format by soundfile."""
    if (samples := _pcm16_wav(data)) is not None:
        return samples
    samples, _ = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples.T


def _pcm16_wav(data: bytes) -> np.ndarray | None:
    """The samples (C, S) of a plain 16-bit PCM WAV file (the whole frames its data chunk
    holds), or None for anything else."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    at, channels = 12, None
    while at + 8 <= len(data):
        chunk, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        if chunk == b"fmt " and size >= 16:
            tag, channels, _, _, _, bits = struct.unpack_from("<HHIIHH", data, at + 8)
            if tag != WAVE_FORMAT_PCM or bits != 16 or channels < 1:
                return None
        elif chunk == b"data":
            if channels is None:
                return None
            frames = min(size, len(data) - at - 8) // (2 * channels)
            pcm = np.frombuffer(data, "<i2", count=frames * channels, offset=at + 8)
            return pcm.reshape(-1, channels).T / np.float32(32768)
        at += 8 + size + (size & 1)
    return None
