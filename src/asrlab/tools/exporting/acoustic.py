"""The acoustic model as it is exported: waveforms in, the head's frame scores out."""

import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.model.heads.ctc import CTCHead
from asrlab.model.heads.rnnt import RNNTHead
from asrlab.model.module import ASRModel

# The heads export writes, by the name of their module (`head=NAME`).
EXPORTED_HEADS = {"ctc": CTCHead, "rnnt": RNNTHead}


def head_name(model: ASRModel) -> str:
    """The head's name as `head=NAME` selects it (its module's name); ValueError, naming it and
    the heads that export, if export does not support it."""
    name = type(model.head).__module__.rsplit(".", 1)[-1]
    if not isinstance(model.head, EXPORTED_HEADS.get(name, ())):
        raise ValueError(
            f"head '{name}' is not supported yet; export supports {' and '.join(EXPORTED_HEADS)}"
        )
    return name


class AcousticModel(nn.Module):
    """A trained model's frontend, encoder and head's frame scores, in eval mode, without
    augmentation.

    forward(waves (B, S) float32, wave_lengths (B,) int64)
        -> scores (B, T', D) float32, lengths (B,) int64: CTC log-probs (natural log, D = V),
        or a transducer's encoder states in its joint space (D = J).
    Frames at or beyond `lengths` are padding; there may be one or two more of them than the
    PyTorch model gives for the same batch.
    """

    def __init__(self, model: ASRModel) -> None:
        super().__init__()
        head_name(model)
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
