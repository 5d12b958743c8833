"""Pareto fronts of the runs: those that no other run beats on both a WER and a cost (parameters,
the decoding real-time factor)."""

from collections.abc import Sequence
from dataclasses import dataclass

from asrlab.tools.compare.runs import Run

# The costs a WER is weighed against: the metrics.json key and its name in the tables.
COSTS = {"num_params": "params", "decode_rtf": "RTF"}


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def pareto_front(points: Sequence[Sequence[float | None]]) -> tuple[list[int], int]:
    """The indices, in order, of the points no other point dominates (as low in every coordinate
    and lower in one; all are minimised), so equal points are all on the front, as in Optuna's
    `study.best_trials`; and the count of points left out for a coordinate that is None."""
    complete = [p for p in points if all(v is not None for v in p)]
    front = [
        i
        for i, p in enumerate(points)
        if all(v is not None for v in p) and not any(_dominates(q, p) for q in complete)
    ]
    return front, len(points) - len(complete)


@dataclass(frozen=True)
class Front:
    """The runs on the front of `metric` (a WER) and `cost`, and how many runs lack either."""

    metric: str
    cost: str
    runs: list[Run]
    left_out: int

    def __contains__(self, run: object) -> bool:
        return any(run is member for member in self.runs)


def fronts(ranked: Sequence[Run], metric: str) -> list[Front]:
    """A front for each of COSTS that some run recorded along with `metric`."""
    found = []
    for cost in COSTS:
        indices, left_out = pareto_front([(run.metric(metric), run.metric(cost)) for run in ranked])
        if indices:
            found.append(Front(metric, cost, [ranked[i] for i in indices], left_out))
    return found
