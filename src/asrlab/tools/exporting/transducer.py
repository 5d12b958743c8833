"""An RNN-T head's prediction and joint networks as graphs of one step each, for export beside
the acoustic model (`AcousticModel`: waveforms -> encoder states in the joint space)."""

import torch
from torch import Tensor, nn

from asrlab.model.heads.rnnt import RNNTHead


class PredictionStep(nn.Module):
    """One step of the prediction network, its state as two tensors whatever its recurrence.

    forward(token (B,) int64, hidden (L, B, P), cell (L, B, P))
        -> output (B, J) in the joint space, hidden (L, B, P), cell (L, B, P).
    Before the first token: token = blank, hidden = cell = zeros. A GRU has no cell: it is
    returned unchanged.
    """

    def __init__(self, head: RNNTHead) -> None:
        super().__init__()
        self.head = head
        self.lstm = isinstance(head.rnn, nn.LSTM)
        self.eval()

    def forward(self, token: Tensor, hidden: Tensor, cell: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        output, state = self.head.prediction(
            token[:, None], (hidden, cell) if self.lstm else hidden
        )
        hidden, cell = state if self.lstm else (state, cell)
        return output[:, 0], hidden, cell


class Joint(nn.Module):
    """forward(frame (B, J), prediction (B, J)) -> log_probs (B, V) float32 (natural log)."""

    def __init__(self, head: RNNTHead) -> None:
        super().__init__()
        self.head = head
        self.eval()

    def forward(self, frame: Tensor, prediction: Tensor) -> Tensor:
        return self.head.joint(frame, prediction).log_softmax(dim=-1)


def prediction_example(head: RNNTHead, batch: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Random tokens (B,) and states (L, B, P) for the prediction step."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(head.embedding.num_embeddings, (batch,), generator=generator)
    shape = (head.rnn.num_layers, batch, head.rnn.hidden_size)
    hidden, cell = (torch.randn(shape, generator=generator) for _ in range(2))
    return tokens, hidden, cell


def joint_example(head: RNNTHead, batch: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random encoder frames and prediction outputs (B, J) for the joint."""
    generator = torch.Generator().manual_seed(seed)
    width = head.output.in_features
    return torch.randn(batch, width, generator=generator), torch.randn(
        batch, width, generator=generator
    )
