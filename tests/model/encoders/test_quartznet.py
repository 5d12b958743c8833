"""QuartzNet's masked batch norm keeps padding out of training statistics."""

import torch

from asrlab.model.encoders.masking import length_mask
from asrlab.model.encoders.quartznet import MaskedBatchNorm1d, QuartzNetEncoder


def test_masked_batch_norm_matches_batch_norm_over_valid_frames() -> None:
    torch.manual_seed(0)
    lengths = torch.tensor([7, 3, 5])
    x = torch.randn(3, 4, 7)
    valid = length_mask(lengths, 7)
    x.masked_fill_(~valid.unsqueeze(1), 100.0)
    masked, reference = MaskedBatchNorm1d(4), torch.nn.BatchNorm1d(4)
    with torch.no_grad():
        masked.weight.uniform_(0.5, 2.0)
        reference.weight.copy_(masked.weight)
    frames = x.transpose(1, 2)[valid]  # (valid frames, C)
    y = masked.train()(x, valid).transpose(1, 2)[valid]
    torch.testing.assert_close(y, reference.train()(frames))
    torch.testing.assert_close(masked.running_mean, reference.running_mean)
    torch.testing.assert_close(masked.running_var, reference.running_var)
    torch.testing.assert_close(
        masked.eval()(x, valid).transpose(1, 2)[valid], reference.eval()(frames)
    )


@torch.no_grad()
def test_training_outputs_do_not_depend_on_padding() -> None:
    torch.manual_seed(0)
    encoder = QuartzNetEncoder(
        6, prologue_channels=5, block_channels=(5, 4), block_kernels=(3, 5), dropout=0.0
    ).train()
    lengths = torch.tensor([12, 7])
    x = torch.randn(2, 12, 6)
    garbage = x.clone()
    garbage[1, 7:] = 100.0
    h, out_lengths = encoder(x, lengths)
    torch.testing.assert_close(encoder(garbage, lengths)[0], h)
    assert not h[1, out_lengths[1] :].any()
