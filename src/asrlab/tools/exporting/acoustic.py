"""The acoustic model as it is exported: waveforms in, CTC log-probs out."""

import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.model.heads.ctc import CTCHead
from asrlab.model.module import ASRModel


class AcousticModel(nn.Module):
    """A trained model's frontend, encoder and CTC head, in eval mode, without augmentation.

    forward(waves (B, S) float32, wave_lengths (B,) int64)
        -> log_probs (B, T', V) float32 (natural log), lengths (B,) int64.
    Frames at or beyond `lengths` are padding; there may be one or two more of them than the
    PyTorch model gives for the same batch.
    """

    def __init__(self, model: ASRModel) -> None:
        super().__init__()
        if not isinstance(model.head, CTCHead):
            raise ValueError(
                f"exporting a {type(model.head).__name__} head is not supported yet: only CTC "
                "models export"
            )
        self.frontend = model.frontend
        self.encoder = model.encoder
        self.head = model.head
        self.eval()

    def forward(self, waves: Tensor, wave_lengths: Tensor) -> tuple[Tensor, Tensor]:
        # A frame of zeros past the end changes no valid frame, and keeps even a batch shorter
        # than one frame out of the frontend's padding branch, which tracing would freeze.
        waves = F.pad(waves, (0, self.frontend.frame_length))
        feats, lengths = self.frontend(waves, wave_lengths)
        return self.head(*self.encoder(feats, lengths))
