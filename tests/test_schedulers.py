"""Schedules: resumed from a saved state, the same length continues exactly and a longer one (an
extended run) continues as the longer schedule has it; the cosine warm-up in steps or as a
fraction of the run."""

from collections.abc import Callable
from functools import partial

import pytest
import torch
from torch import nn

from asrlab.training.schedulers import cosine, onecycle

SCHEDULES = [onecycle, partial(cosine, warmup_steps=5)]


def _stepped(factory: Callable, total_steps: int, steps: int, state: dict | None = None) -> tuple:
    """A fresh AdamW and schedule of `total_steps`, loaded from `state` (as resuming does:
    optimizer first) or not, then stepped `steps` times; returns them and the lrs used."""
    optimizer = torch.optim.AdamW(nn.Linear(2, 2).parameters(), lr=0.01)
    scheduler = factory(optimizer, total_steps=total_steps)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return optimizer, scheduler, lrs


def _state(factory: Callable, total_steps: int, steps: int) -> dict:
    optimizer, scheduler, _ = _stepped(factory, total_steps, steps)
    return {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}


@pytest.mark.parametrize("factory", SCHEDULES)
def test_resumed_schedule_of_the_same_length_is_exact(factory: Callable) -> None:
    _, _, full = _stepped(factory, 40, 40)
    _, _, rest = _stepped(factory, 40, 15, _state(factory, 40, 25))
    assert rest == full[25:]


@pytest.mark.parametrize("factory", SCHEDULES)
def test_finished_schedule_extends_to_the_new_length(factory: Callable) -> None:
    finished = _state(factory, 40, 40)
    _, _, rest = _stepped(factory, 80, 40, finished)  # OneCycleLR: ValueError at 41
    _, _, longer = _stepped(factory, 80, 80)
    assert rest == pytest.approx(longer[40:], rel=1e-12)


def lrs(total_steps: int, **kwargs: float) -> list[float]:
    """The schedule's factor of the lr at each step of the run."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    (factor,) = cosine(optimizer, total_steps, **kwargs).lr_lambdas
    return [factor(step) for step in range(total_steps)]


def test_warmup_ratio_warms_up_over_that_share_of_the_run() -> None:
    rates = lrs(200, warmup_ratio=0.15, min_ratio=0.0)
    peak = rates.index(max(rates))
    assert peak == 29 and rates[peak] == pytest.approx(1.0)  # 30 warm-up steps, then decay
    assert rates[:30] == pytest.approx([(step + 1) / 30 for step in range(30)])
    assert rates == lrs(200, warmup_steps=30, min_ratio=0.0)
    assert rates[-1] < 0.001


def test_warmup_ratio_out_of_range_rejected() -> None:
    with pytest.raises(ValueError, match="warmup_ratio"):
        lrs(10, warmup_ratio=1.5)
