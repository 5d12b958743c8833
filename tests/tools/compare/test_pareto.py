"""Pareto fronts of WER against a cost, as asrlab-compare marks and plots them."""

from pathlib import Path

import optuna

from asrlab.tools.compare.pareto import fronts, pareto_front
from asrlab.tools.compare.runs import Run

# (WER, parameters): a tie on each coordinate, a duplicate, and two runs missing one value.
POINTS = [
    (0.10, 100.0),
    (0.20, 50.0),
    (0.10, 100.0),  # the same as the first: neither dominates the other
    (0.10, 200.0),  # as low a WER as the first, more parameters
    (0.30, 50.0),  # as few parameters as the second, a higher WER
    (None, 10.0),
    (0.05, None),
]


def test_the_front_keeps_duplicates_drops_ties_and_counts_what_it_left_out() -> None:
    assert pareto_front(POINTS) == ([0, 1, 2], 2)
    assert pareto_front([(0.5, 3.0)]) == ([0], 0)
    assert pareto_front([(None, 3.0)]) == ([], 1)
    assert pareto_front([]) == ([], 0)


def test_the_front_is_optunas_for_a_study_of_the_same_values() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"])
    for point in POINTS[:5]:
        study.add_trial(optuna.trial.create_trial(values=list(point)))
    assert sorted(t.number for t in study.best_trials) == pareto_front(POINTS[:5])[0]


def test_a_front_per_cost_that_some_run_recorded() -> None:
    metrics = [
        {"test_wer": 0.1, "num_params": 100, "decode_rtf": 0.02},
        {"test_wer": 0.2, "num_params": 50, "decode_rtf": None},
        {"test_wer": 0.3, "num_params": 80, "decode_rtf": 0.01},
    ]
    runs = [Run(Path(str(i)), str(i), {}, [], m, []) for i, m in enumerate(metrics)]
    by_params, by_rtf = fronts(runs, "test_wer")
    assert (by_params.cost, [r.name for r in by_params.runs], by_params.left_out) == (
        "num_params",
        ["0", "1"],
        0,
    )
    assert (by_rtf.cost, [r.name for r in by_rtf.runs], by_rtf.left_out) == (
        "decode_rtf",
        ["0", "2"],
        1,
    )
    assert runs[0] in by_rtf and runs[1] not in by_rtf
    no_costs = [Run(Path("a"), "a", {}, [], {"test_wer": 0.1}, [])]
    assert fronts(no_costs, "test_wer") == []
