"""The cosine schedule's warm-up, in steps or as a fraction of the run."""

import pytest
import torch

from asrlab.schedulers import cosine


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
