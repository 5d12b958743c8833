"""The attention and QuartzNet encoders, with a linear CTC head, overfit a few fixed utterances."""

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.model.encoders.conformer import ConformerEncoder
from asrlab.model.encoders.quartznet import QuartzNetEncoder
from asrlab.model.encoders.transformer import TransformerEncoder

FEATURES = 8
VOCAB = 5
X = torch.randn(3, 32, FEATURES, generator=torch.Generator().manual_seed(0))
LENGTHS = torch.tensor([32, 27, 20])
TARGETS = torch.tensor([[1, 2, 3, 4], [2, 4, 1, 0], [3, 1, 0, 0]])
TARGET_LENGTHS = torch.tensor([4, 3, 2])

SMALL: dict[str, Callable[[], nn.Module]] = {
    "conformer": lambda: ConformerEncoder(
        FEATURES,
        d_model=16,
        num_layers=1,
        num_heads=2,
        ffn_dim=32,
        kernel_size=3,
        subsampling_channels=4,
        dropout=0.0,
    ),
    "quartznet": lambda: QuartzNetEncoder(
        FEATURES,
        prologue_channels=16,
        prologue_kernel=3,
        block_channels=(16,),
        block_kernels=(5,),
        epilogue_kernel=3,
        epilogue_channels=16,
        dropout=0.0,
    ),
    "transformer": lambda: TransformerEncoder(
        FEATURES,
        d_model=16,
        num_layers=1,
        num_heads=2,
        ffn_dim=32,
        subsampling_channels=4,
        dropout=0.0,
    ),
}


def batch_loss(encoder: nn.Module, head: nn.Module) -> Tensor:
    """Mean CTC loss of the fixed batch."""
    h, out_lengths = encoder(X, LENGTHS)
    log_probs = head(h).log_softmax(-1).transpose(0, 1)
    return F.ctc_loss(log_probs, TARGETS, out_lengths, TARGET_LENGTHS)


@pytest.mark.parametrize("name", list(SMALL))
def test_overfits_three_utterances(name: str) -> None:
    torch.manual_seed(0)
    encoder = SMALL[name]()
    head = nn.Linear(encoder.output_dim, VOCAB)
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=0.01)
    with torch.no_grad():
        start = batch_loss(encoder.eval(), head)
    encoder.train()
    for _ in range(100):
        optimizer.zero_grad()
        batch_loss(encoder, head).backward()
        optimizer.step()
    with torch.no_grad():
        end = batch_loss(encoder.eval(), head)
    assert end < 0.1 * start, (start, end)
