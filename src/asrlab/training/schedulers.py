"""Learning-rate schedules stepped once per optimizer step; built with the run's total steps.

A resumed run builds its schedule for its own total steps (`trainer.max_epochs` may have grown)
and takes only the position, the step, from the checkpoint: the learning rate continues as the
schedule of the new length has it at that step. With the same length, that is the saved schedule.
"""

import math
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR


def _resume_at_loaded_step(scheduler: LRScheduler) -> None:
    """Sets the optimizer's learning rates to the schedule's at its (just loaded) step."""
    scheduler.last_epoch -= 1
    scheduler.step()


class _OneCycle(OneCycleLR):
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        length = {"total_steps": self.total_steps, "_schedule_phases": self._schedule_phases}
        super().load_state_dict({**state_dict, **length})
        if self.last_epoch <= self.total_steps:  # else a shortened run: it trains no more
            _resume_at_loaded_step(self)


class _Lambda(LambdaLR):
    """Its factor function (holding the total steps) is never saved, so stays this run's."""

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        _resume_at_loaded_step(self)


def onecycle(optimizer: Optimizer, total_steps: int, pct_start: float = 0.15) -> LRScheduler:
    """Warm up to the optimizer's lr over `pct_start` of the run, then anneal (cosine) to ~0."""
    max_lr = [group["lr"] for group in optimizer.param_groups]
    return _OneCycle(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)


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

    return _Lambda(optimizer, factor)


def constant(optimizer: Optimizer, total_steps: int) -> LRScheduler:
    """No schedule: the optimizer's lr throughout."""
    return LambdaLR(optimizer, lambda step: 1.0)
