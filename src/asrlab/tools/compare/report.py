"""The ranked table of runs: on the console (rich), as CSV and as Markdown."""

import csv
import json
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from asrlab.text.markdown import markdown_table
from asrlab.tools.compare.pareto import COSTS, Front
from asrlab.tools.compare.runs import FailedRun, Run, names_the_trial
from asrlab.tools.compare.significance import COLUMNS as VERSUS_COLUMNS
from asrlab.tools.compare.significance import RESAMPLES, PairedDifference, Versus, cells

METRIC_COLUMNS = {
    "test_wer": "test WER",
    "best_val_wer": "best val WER",
    "val_wer": "val WER",
    "num_params": "params",
    "train_seconds": "train s",
    "decode_rtf": "decode RTF",
}
ABSENT = "-"
PARETO_COLUMN = "Pareto"
CSV_VERSUS = ["wer_delta", "wer_delta_low", "wer_delta_high", "p_improve", "versus_baseline"]
VERSUS_NOTE = (
    "Δ WER: the run's test WER minus the baseline `{baseline}`'s, in percentage points, with its "
    f"95% paired bootstrap interval over the test utterances ({RESAMPLES:,} resamples, seed 0); "
    "P(better): the share of resamples in which the run's WER is the lower. The interval covers "
    "the test utterances, not training randomness: one run against one run can differ by more "
    "than it says when only the seed differs; compare seed replicates with "
    "`asrlab-results --baseline`."
)


def _plain(value: Any) -> str:
    """A config value written the way YAML would show it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def column_title(key: str) -> str:
    """A varied key as a column title: `encoder._target_` is the choice of `encoder`."""
    return key.removesuffix("._target_")


def setting(run: Run, key: str) -> str:
    """A config value for tables and legends; class paths shortened to the class name, floats to
    four significant digits (the CSV keeps them whole)."""
    if key not in run.config:
        return ABSENT
    value = run.config[key]
    if key.endswith("_target_") and isinstance(value, str):
        return value.rsplit(".", 1)[-1]
    if isinstance(value, float):
        return f"{value:.4g}"  # a sampled 0.004124736202144694 as 0.004125
    return _plain(value)


def settings_label(run: Run, keys: Sequence[str], width: int = 90) -> str:
    """The run's varied values as `key=value, ...` (cut at `width`), or its name if none."""
    label = ", ".join(f"{column_title(k)}={setting(run, k)}" for k in keys if k in run.config)
    return textwrap.shorten(label, width, placeholder=" ...") if label else run.name


def format_metric(key: str, value: float | None) -> str:
    """WERs as percentages, parameters in k/M, real-time factors to three decimals, seconds to
    a tenth."""
    if value is None:
        return ABSENT
    if key.endswith("wer"):
        return f"{100 * value:.2f}%"
    if key.endswith("rtf"):
        return f"{value:.3f}"
    if key == "num_params":
        if value >= 1e6:
            return f"{value / 1e6:.2f}M"
        return f"{value / 1e3:.1f}k" if value >= 1e3 else f"{value:.0f}"
    return f"{value:.1f}"


def count(items: Sequence[Any] | int, noun: str) -> str:
    """`3 runs`, `1 run` (of `items`, or that many)."""
    n = items if isinstance(items, int) else len(items)
    return f"{n} {noun}{'' if n == 1 else 's'}"


def error_summary(error: str | None) -> str:
    """The last line of an error (where a traceback names the exception)."""
    if not error:
        return "no metrics.json and no error file: still running, killed or crashed"
    return [line for line in error.splitlines() if line.strip()][-1].strip()


def pruned_summary(pruned: Mapping[str, Any]) -> str:
    """`after 2 epochs at val/loss 0.9231` from a pruned.json (whose `epoch` counts from 0)."""
    monitor = pruned.get("monitor", "val/wer")
    epoch = pruned.get("epoch")
    trained = f"{epoch + 1} epochs" if isinstance(epoch, int) else f"epoch {epoch}"
    return f"after {trained} at {monitor} {pruned.get('value')}"


def _listed(run: FailedRun) -> str:
    """` (`overrides`)` of a run listed apart, or nothing."""
    shown = tried(run.overrides)
    return f" (`{shown}`)" if shown else ""


def tried(overrides: Sequence[str]) -> str:
    """A trial's overrides without the `optuna_trial.*` ones, which name its study, not what
    it tried."""
    return " ".join(o for o in overrides if not names_the_trial(o))


def pareto_cell(run: Run, fronts: Sequence[Front]) -> str:
    """The fronts the run is on, by their COSTS name: `params, RTF`."""
    return ", ".join(COSTS[front.cost] for front in fronts if run in front)


def pareto_note(fronts: Sequence[Front]) -> str:
    """What the Pareto column says, and how many runs each front left out."""
    parts = []
    for front in fronts:
        names = f"{METRIC_COLUMNS[front.metric]} and {METRIC_COLUMNS[front.cost]}"
        missing = f"; {count(front.left_out, 'run')} lacking one left out" if front.left_out else ""
        parts.append(f"{names} (`{COSTS[front.cost]}`{missing})")
    return (
        f"Pareto: on the front of {', of '.join(parts)}: no other run is as low on both and "
        "lower on one."
    )


def metric_columns(ranked: Sequence[Run]) -> list[str]:
    """The METRIC_COLUMNS that some run has (asrlab-decode runs have no parameters, training runs
    no val_wer)."""
    return [m for m in METRIC_COLUMNS if any(run.metric(m) is not None for run in ranked)]


def table(
    ranked: Sequence[Run],
    keys: Sequence[str],
    versus: Mapping[Path, Versus] | None = None,
    fronts: Sequence[Front] = (),
) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows: rank, run, the varied values, the metrics, the Pareto fronts
    the run is on (if there are `fronts`); with `versus` (by run folder), each run's test WER
    against the baseline's."""
    metrics = metric_columns(ranked)
    header = ["#", "run", *map(column_title, keys), *(METRIC_COLUMNS[m] for m in metrics)]
    header += [PARETO_COLUMN] if fronts else []
    header += VERSUS_COLUMNS if versus is not None else []
    rows = [
        [
            str(position),
            run.name,
            *(setting(run, k) for k in keys),
            *(format_metric(m, run.metric(m)) for m in metrics),
            *([pareto_cell(run, fronts)] if fronts else []),
            *(cells(versus.get(run.path)) if versus is not None else []),
        ]
        for position, run in enumerate(ranked, start=1)
    ]
    return header, rows


def _unranked_table(runs: Sequence[FailedRun], noun: str, column: str, why: list[str]) -> Table:
    """The `runs` (counted as `noun`s) with their overrides and, under `column`, `why`."""
    listing = Table(title=count(runs, noun))
    for title in ("run", "overrides", column):
        listing.add_column(title)
    for run, reason in zip(runs, why, strict=True):
        listing.add_row(run.name, tried(run.overrides), reason)
    return listing


def print_tables(
    ranked: Sequence[Run],
    failed: Sequence[FailedRun],
    keys: Sequence[str],
    metric: str,
    versus: Mapping[Path, Versus] | None = None,
    fronts: Sequence[Front] = (),
    baseline: str | None = None,
) -> None:
    """The ranked runs (with the Pareto fronts they are on), then the pruned trials, then the
    failed runs, on the console; with `versus`, what the comparison with `baseline` means."""
    header, rows = table(ranked, keys, versus, fronts)
    numeric = {"#", *METRIC_COLUMNS.values(), *VERSUS_COLUMNS}
    notes = [VERSUS_NOTE.format(baseline=baseline)] if versus is not None else []
    notes += [pareto_note(fronts)] if fronts else []
    caption = "\n".join(notes) or None
    ranked_table = Table(
        title=f"{count(ranked, 'run')} ranked by {metric}", caption=caption, caption_justify="left"
    )
    for title in header:
        ranked_table.add_column(title, justify="right" if title in numeric else "left")
    for row in rows:
        ranked_table.add_row(*row)
    tables = [ranked_table]
    pruned = [run for run in failed if run.pruned is not None]
    failed = [run for run in failed if run.pruned is None]
    if pruned:
        why = [pruned_summary(run.pruned) for run in pruned]
        tables.append(_unranked_table(pruned, "pruned trial", "pruned", why))
    if failed:
        why = [error_summary(run.error) for run in failed]
        tables.append(_unranked_table(failed, "failed or unfinished run", "error", why))
    console = Console()
    if not console.is_terminal:
        # A file or a pipe has no width to fit: print the tables whole, not squeezed to 80.
        unlimited = console.options.update_width(1_000_000)
        widths = [Measurement.get(console, unlimited, t).maximum for t in tables]
        console.width = max(console.width, *widths)
    for rich_table in tables:
        console.print(rich_table)


def write_csv(
    path: Path,
    ranked: Sequence[Run],
    keys: Sequence[str],
    versus: Mapping[Path, Versus] | None = None,
    fronts: Sequence[Front] = (),
) -> None:
    """One row per ranked run: full config values and raw metrics (WER as a fraction), whether
    it is on each Pareto front (`pareto_num_params`: true, false, empty if it lacks a value);
    with `versus`, the WER difference to the baseline, its interval and P(improve), or a marker."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        columns = metric_columns(ranked)
        pareto = [f"pareto_{front.cost}" for front in fronts]
        header = ["rank", "run", *keys, *columns, *pareto, *(CSV_VERSUS if versus else [])]
        writer.writerow(header)
        for position, run in enumerate(ranked, start=1):
            values = [_plain(run.config[k]) if k in run.config else "" for k in keys]
            metrics = [run.metric(m) for m in columns]
            row = [position, run.name, *values, *("" if v is None else v for v in metrics)]
            row += [_csv_on_front(run, front) for front in fronts]
            writer.writerow(row + (_csv_versus(versus.get(run.path)) if versus else []))


def _csv_on_front(run: Run, front: Front) -> str:
    if run.metric(front.metric) is None or run.metric(front.cost) is None:
        return ""
    return _plain(run in front)


def _csv_versus(result: Versus | None) -> list[Any]:
    if isinstance(result, PairedDifference):
        return [result.delta, result.low, result.high, result.p_improve, ""]
    return ["", "", "", "", result or ""]


def write_markdown(
    path: Path,
    ranked: Sequence[Run],
    failed: Sequence[FailedRun],
    keys: Sequence[str],
    metric: str,
    versus: Mapping[Path, Versus] | None = None,
    baseline: str | None = None,
    fronts: Sequence[Front] = (),
) -> None:
    """The ranked table as Markdown (with the Pareto fronts each run is on), a list of the pruned
    trials, and one of the failed runs with their errors; with `versus`, each run's test WER
    against the `baseline` run's."""
    header, rows = table(ranked, keys, versus, fronts)
    lines = ["# Run comparison", "", f"{count(ranked, 'run')} ranked by `{metric}` (lowest first)."]
    if versus is not None:
        lines += ["", VERSUS_NOTE.format(baseline=baseline)]
    lines += ["", *markdown_table(header, rows)]
    lines += ["", pareto_note(fronts)] if fronts else []
    pruned = [run for run in failed if run.pruned is not None]
    failed = [run for run in failed if run.pruned is None]
    if pruned:
        lines += ["", "## Pruned trials", ""]
        for run in pruned:
            lines.append(f"- `{run.name}`{_listed(run)}: pruned {pruned_summary(run.pruned)}")
    if failed:
        lines += ["", "## Failed or unfinished runs", ""]
        for run in failed:
            lines.append(f"- `{run.name}`{_listed(run)}: {error_summary(run.error)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
