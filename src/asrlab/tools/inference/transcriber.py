"""Audio files -> transcripts, through a trained model and a decoder; with word times for a CTC
model."""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from asrlab.data.audio import AudioError, AudioInfo, audio_info, read_audio
from asrlab.model.contracts import Decoder
from asrlab.model.heads.ctc import CTCHead
from asrlab.model.module import ASRModel
from asrlab.tools.decoding.posteriors import unpad
from asrlab.tools.inference.chunks import Chunking, chunked_log_probs
from asrlab.tools.inference.timing import AlignmentError, WordTime, word_times

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transcript:
    """One file's text and words; duration (seconds) and sample_rate are the file's own.
    `words` is None when the head gives no frame alignment (any head but CTC), or when the text
    could not be aligned to the frames (a warning says why)."""

    path: Path
    duration: float
    sample_rate: int
    text: str
    words: list[WordTime] | None


@dataclass(frozen=True)
class Failure:
    """A file that could not be read: missing, unreadable or empty."""

    path: Path
    error: str


@dataclass(frozen=True)
class _Audio:
    path: Path
    info: AudioInfo
    wave: Tensor  # (S,) at the model's rate


class Transcriber:
    """Transcribes files in order. Files up to `chunk_seconds` long go through the model
    `batch_size` at a time; with a CTC head, longer ones in chunks of `chunk_seconds` overlapping
    by `overlap_seconds`, `batch_size` chunks at a time, their log-probs joined and decoded once,
    so word times are the file's. Other heads' scores cannot be joined: their long files go
    through the model whole, like short ones."""

    def __init__(
        self,
        model: ASRModel,
        decoder: Decoder,
        sample_rate: int,
        chunk_seconds: float = 30.0,
        overlap_seconds: float = 2.0,
        batch_size: int = 16,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.model = model.to(device).eval()
        self.decoder = decoder
        self.sample_rate = sample_rate
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.frame_seconds = model.frame_seconds
        self.ctc = isinstance(model.head, CTCHead)
        # CTC decoders search on the CPU; any other head decodes beside its weights.
        self.decode_device = torch.device("cpu") if self.ctc else self.device
        self.chunking = Chunking.from_seconds(
            chunk_seconds, overlap_seconds, sample_rate, model.frame_samples
        )

    @torch.inference_mode()
    def acoustic(self, waves: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Padded waveforms (B, S), lengths (B,) -> CPU head scores (CTC: log-probs (B, T, V)),
        lengths (B,)."""
        scores, frames = self.model(waves.to(self.device), lengths.to(self.device))
        return scores.cpu(), frames.cpu()

    def __call__(self, paths: Iterable[Path]) -> Iterator[Transcript | Failure]:
        """One Transcript or Failure per path, in order."""
        batch: list[_Audio] = []
        for path in paths:
            audio = self._read(path)
            short = isinstance(audio, _Audio) and (
                len(audio.wave) <= self.chunking.size or not self.ctc
            )
            if short:
                batch.append(audio)
            if not short or len(batch) == self.batch_size:
                yield from self._transcribe_batch(batch)
                batch = []
            if isinstance(audio, Failure):
                yield audio
            elif not short:
                log_probs = chunked_log_probs(
                    self.acoustic, audio.wave, self.chunking, self.batch_size
                )
                yield from self._decode([audio], [log_probs], [len(log_probs)])
        yield from self._transcribe_batch(batch)

    def _read(self, path: Path) -> _Audio | Failure:
        try:
            return _Audio(path, audio_info(path), read_audio(path, self.sample_rate))
        except AudioError as err:
            return Failure(path, str(err))

    def _transcribe_batch(self, batch: list[_Audio]) -> list[Transcript]:
        """Short files through the model together."""
        if not batch:
            return []
        waves = [audio.wave for audio in batch]
        scores, frames = self.acoustic(
            pad_sequence(waves, batch_first=True), torch.tensor([len(w) for w in waves])
        )
        lengths = frames.tolist()
        return self._decode(batch, unpad(scores, lengths), lengths)

    def _decode(
        self, batch: list[_Audio], scores: list[Tensor], lengths: list[int]
    ) -> list[Transcript]:
        """Files, their scores (CTC: log-probs (T_i, V)) and lengths T_i -> transcripts, decoded
        as one batch."""
        padded = pad_sequence(scores, batch_first=True).to(self.decode_device)
        texts = self.decoder.decode(padded, torch.tensor(lengths, device=self.decode_device))
        return [
            Transcript(
                audio.path,
                audio.info.duration,
                audio.info.sample_rate,
                text,
                self._words(audio, scores, text),
            )
            for audio, scores, text in zip(batch, scores, texts, strict=True)
        ]

    def _words(self, audio: _Audio, log_probs: Tensor, text: str) -> list[WordTime] | None:
        if not self.ctc:
            return None
        tokenizer, duration = self.model.tokenizer, audio.info.duration
        try:
            return word_times(log_probs, text, tokenizer, self.frame_seconds, duration)
        except AlignmentError as err:
            log.warning("%s: no word times: %s", audio.path, err)
            return None
