"""CTC loss that skips utterances it cannot align instead of turning into inf or NaN."""

import torch
import torch.nn.functional as F


def ctc_min_frames(targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """(B,) the fewest frames CTC can align each label sequence to: the labels plus one blank
    between each repeated pair. targets (B, L) padded, target_lengths (B,)."""
    positions = torch.arange(targets.shape[1] - 1, device=targets.device)
    repeats = (targets[:, 1:] == targets[:, :-1]) & (positions < target_lengths[:, None] - 1)
    return target_lengths + repeats.sum(dim=1)


def ctc_feasible(
    targets: torch.Tensor, target_lengths: torch.Tensor, frame_lengths: torch.Tensor
) -> torch.Tensor:
    """(B,) bool: enough frames for the labels plus one blank between each repeated pair.

    targets (B, L) padded, target_lengths (B,), frame_lengths (B,) after the encoder.
    """
    return frame_lengths >= ctc_min_frames(targets, target_lengths)


REDUCTIONS = ("mean_token", "mean_batch")


def ctc_loss(
    log_probs: torch.Tensor,
    frame_lengths: torch.Tensor,
    targets: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int = 0,
    reduction: str = "mean_token",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over feasible utterances of the CTC loss divided by the label length (`mean_token`),
    or of each utterance's whole loss (`mean_batch`, NeMo's default: long utterances weigh more).

    log_probs (B, T, V) float32 log-softmax. Returns (loss scalar, number of skipped utterances).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    feasible = ctc_feasible(targets, target_lengths, frame_lengths)
    losses = F.ctc_loss(
        log_probs.transpose(0, 1),
        targets,
        frame_lengths,
        target_lengths,
        blank=blank,
        reduction="none",
        zero_infinity=True,
    )
    if reduction == "mean_token":
        losses = losses / target_lengths.clamp(min=1)
    skipped = (~feasible).sum()
    if skipped == len(feasible):
        return losses.sum() * 0.0, skipped
    return losses[feasible].mean(), skipped
