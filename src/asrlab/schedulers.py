"""Learning-rate schedules stepped once per optimizer step; built with the run's total steps."""

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR


def onecycle(optimizer: Optimizer, total_steps: int, pct_start: float = 0.15) -> LRScheduler:
    """Warm up to the optimizer's lr over `pct_start` of the run, then anneal (cosine) to ~0."""
    max_lr = [group["lr"] for group in optimizer.param_groups]
    return OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)


def cosine(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 100,
    min_ratio: float = 0.01,
    warmup_ratio: float | None = None,
) -> LRScheduler:
    """Linear warm-up for `warmup_steps` (or `warmup_ratio` of the run's steps, NeMo's way),
    then cosine decay to `min_ratio` of the lr."""
    if warmup_ratio is not None:
        if not 0.0 <= warmup_ratio < 1.0:
            raise ValueError(f"scheduler.warmup_ratio must be in [0, 1), got {warmup_ratio}")
        warmup_steps = round(warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


def constant(optimizer: Optimizer, total_steps: int) -> LRScheduler:
    """No schedule: the optimizer's lr throughout."""
    return LambdaLR(optimizer, lambda step: 1.0)
