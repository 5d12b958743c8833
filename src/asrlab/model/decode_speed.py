"""Decoding speed of the test stage: wall-clock seconds of the acoustic pass and of the search
over the audio seconds they decoded (the real-time factor, RTF)."""

import time

import torch
from torchmetrics import Metric


def clock(device: torch.device) -> float:
    """Seconds on a monotonic clock, after the device's queued work is done."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


class DecodeSpeed(Metric):
    """Seconds of the acoustic pass (frontend, encoder, the head's forward), of the search (the
    head's decoding into text) and of audio decoded, summed across batches and processes.
    `compute()` -> {decode_rtf, decode_rtf_encoder, decode_rtf_search}: seconds per audio second,
    None when nothing was decoded."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("encoder_seconds", "search_seconds", "audio_seconds"):
            self.add_state(name, default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(  # type: ignore[override]
        self, encoder_seconds: float, search_seconds: float, audio_seconds: float
    ) -> None:
        self.encoder_seconds += encoder_seconds
        self.search_seconds += search_seconds
        self.audio_seconds += audio_seconds

    def compute(self) -> dict[str, float | None]:
        audio = float(self.audio_seconds)
        parts = {"encoder": float(self.encoder_seconds), "search": float(self.search_seconds)}
        rtf = {f"decode_rtf_{part}": s / audio if audio else None for part, s in parts.items()}
        total = sum(parts.values()) / audio if audio else None
        return {"decode_rtf": total, **rtf}
