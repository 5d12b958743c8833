import pytest
import torch

from asrlab.model.ctc import ctc_feasible, ctc_loss


def test_feasibility_counts_repeats_within_length() -> None:
    targets = torch.tensor([[1, 1, 2, 0], [3, 4, 5, 5]])
    lengths = torch.tensor([3, 3])  # second: the padded 5 after length 3 is not a repeat
    assert ctc_feasible(targets, lengths, torch.tensor([4, 3])).tolist() == [True, True]
    assert ctc_feasible(targets, lengths, torch.tensor([3, 2])).tolist() == [False, False]


def test_infeasible_utterances_are_skipped_not_inf() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 6, requires_grad=True)
    targets = torch.tensor([[1, 2, 0, 0, 0, 0], [1, 2, 3, 4, 5, 1]])
    loss, skipped = ctc_loss(
        logits.log_softmax(-1), torch.tensor([5, 5]), targets, torch.tensor([2, 6])
    )
    assert skipped.item() == 1 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[1].abs().sum() == 0


def test_all_infeasible_gives_zero_loss_with_finite_grad() -> None:
    logits = torch.randn(1, 2, 6, requires_grad=True)
    loss, skipped = ctc_loss(
        logits.log_softmax(-1), torch.tensor([2]), torch.tensor([[1, 2, 3]]), torch.tensor([3])
    )
    loss.backward()
    assert skipped.item() == 1 and loss.item() == 0.0 and torch.isfinite(logits.grad).all()


def test_mean_batch_averages_whole_utterance_losses() -> None:
    torch.manual_seed(0)
    log_probs = torch.randn(2, 8, 6).log_softmax(-1)
    targets, target_lengths = torch.tensor([[1, 2, 3], [4, 0, 0]]), torch.tensor([3, 1])
    frames = torch.tensor([8, 6])
    per_token, _ = ctc_loss(log_probs, frames, targets, target_lengths)
    per_utterance, _ = ctc_loss(log_probs, frames, targets, target_lengths, reduction="mean_batch")
    whole = torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1), targets, frames, target_lengths, reduction="none"
    )
    torch.testing.assert_close(per_utterance, whole.mean())
    torch.testing.assert_close(per_token, (whole / target_lengths).mean())
    with pytest.raises(ValueError, match="reduction"):
        ctc_loss(log_probs, frames, targets, target_lengths, reduction="sum")
