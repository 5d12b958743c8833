"""Optuna's views of a study as PNGs in the sweep folder: optimisation history, parameter
importances, parallel coordinates (the Pareto front for several objectives)."""

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
from optuna.visualization import matplotlib as views  # noqa: E402

log = logging.getLogger(__name__)


def study_views(study: optuna.Study) -> dict[str, Callable[[optuna.Study], Any]]:
    """The PNG file names and the Optuna views that draw them, for `study`'s objectives."""
    if len(study.directions) > 1:
        return {"pareto_front.png": views.plot_pareto_front}
    return {
        "optimization_history.png": views.plot_optimization_history,
        "param_importances.png": views.plot_param_importances,
        "parallel_coordinate.png": views.plot_parallel_coordinate,
    }


def write_study_plots(study: optuna.Study, folder: Path) -> list[Path]:
    """Writes each view of `study_views` into `folder`; a view the study cannot have yet (too
    few complete trials, a single parameter) is logged and left out. Returns the files."""
    written = []
    for name, view in study_views(study).items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = view(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            log.info("no %s: %s", name, err)
            continue
        figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
        figure.savefig(folder / name, dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(folder / name)
    return written
