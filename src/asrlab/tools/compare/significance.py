"""Runs against a baseline: test WER differences with paired bootstrap intervals over the test
utterances both were scored on, and over the seeds of a row of replicates
(asrlab.training.bootstrap), from their test_utterances.npz."""

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from asrlab.tools.compare.runs import CONFIG, METRICS, Run
from asrlab.training.bootstrap import PairedDifference, replicate_differences, resample_indices
from asrlab.training.utterances import TEST_UTTERANCES, UtteranceCounts

# What a row shows instead of a difference.
BASELINE = "baseline"
OTHER_TEST_SET = "other test set"
NOT_RECORDED = f"no {TEST_UTTERANCES}"
MIXED_TEST_SETS = "seeds on different test sets"
COLUMNS = ("Δ WER", "95% CI", "P(better)")
RESAMPLES = 1000
Versus = PairedDifference | str
K = TypeVar("K", bound=Hashable)


class SignificanceError(ValueError):
    """A comparison with a baseline that cannot be made."""


class TestSetMismatch(SignificanceError):
    """Two runs named for comparison were scored on different test sets."""


def read_utterances(run_dir: Path) -> UtteranceCounts | None:
    """The run's per-utterance test errors; None if it recorded none (an older or a decode run).
    Raises UtterancesError naming a file that cannot be read."""
    path = run_dir / TEST_UTTERANCES
    return UtteranceCounts.load(path) if path.is_file() else None


@dataclass(frozen=True)
class SeedErrors:
    """One system's per-utterance word errors, a row per seed: errors (S, N), words (N,), and
    the test set's digest."""

    errors: np.ndarray
    words: np.ndarray
    digest: str


def seed_errors(utterances: Sequence[UtteranceCounts | None]) -> SeedErrors | str:
    """Seed replicates as one system, a row of errors per run; NOT_RECORDED or MIXED_TEST_SETS
    when they cannot be."""
    if not utterances or any(u is None for u in utterances):
        return NOT_RECORDED
    recorded = [u for u in utterances if u is not None]
    if len({u.digest for u in recorded}) > 1:
        return MIXED_TEST_SETS
    errors = np.stack([u.word_errors for u in recorded])
    return SeedErrors(errors, recorded[0].words, recorded[0].digest)


def against_baseline(
    baseline: SeedErrors,
    systems: Mapping[K, SeedErrors | str],
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[K, Versus]:
    """Each system's paired difference to the baseline (one set of utterance resamples for all;
    a system of several seeds has its seeds resampled too, `replicate_differences`); a marker
    for a system on another test set (OTHER_TEST_SET), or the marker `seed_errors` gave it."""
    results: dict[K, Versus] = {}
    same: dict[K, SeedErrors] = {}
    for key, system in systems.items():
        if isinstance(system, str):
            results[key] = system
        elif system.digest != baseline.digest:
            results[key] = OTHER_TEST_SET
        else:
            same[key] = system
    if same:
        indices = resample_indices(len(baseline.words), resamples, seed)
        errors = [system.errors for system in same.values()]
        differences = replicate_differences(
            errors, baseline.errors, baseline.words, indices, seed=seed
        )
        results.update(zip(same, differences, strict=True))
    return results


def require_same_test_set(name: str, baseline_name: str, result: Versus) -> None:
    """Raises TestSetMismatch naming both runs if `result` says their test sets differ."""
    if result == OTHER_TEST_SET:
        raise TestSetMismatch(
            f"{name} and the baseline {baseline_name} were tested on different test sets (the "
            f"ids and references in their {TEST_UTTERANCES} differ): compare runs of one test set"
        )


def cells(result: Versus | None) -> list[str]:
    """The COLUMNS of a row: the difference and interval in percentage points, the probability
    of improvement; a marker alone; empty cells for None (no baseline to compare with)."""
    if isinstance(result, PairedDifference):
        interval = f"[{100 * result.low:+.2f}, {100 * result.high:+.2f}]"
        return [f"{100 * result.delta:+.2f}", interval, f"{result.p_improve:.3f}"]
    return [result or "", "", ""]


def find_baseline(runs: Sequence[Run], folder: Path) -> Run:
    """The finished run in `folder`; SignificanceError if there is none."""
    for run in runs:
        if run.path == folder.resolve():
            return run
    raise SignificanceError(
        f"the baseline {folder} is not a finished run folder (one with {CONFIG} and {METRICS})"
    )


def named_runs(paths: Sequence[Path]) -> set[Path]:
    """The run folders among `paths` (given by themselves, not found in a searched folder)."""
    return {path.resolve() for path in paths if (path / CONFIG).is_file()}


def baseline_errors(baseline: Run) -> SeedErrors:
    """The baseline's per-utterance errors, as one seed; SignificanceError if it recorded none."""
    errors = seed_errors([read_utterances(baseline.path)])
    if isinstance(errors, str):
        raise SignificanceError(
            f"the baseline {baseline.name} has no {TEST_UTTERANCES} (runs trained before asrlab "
            "recorded per-utterance test errors have none): choose a newer run as baseline"
        )
    return errors


def versus_baseline(
    runs: Sequence[Run], baseline: Run, named: Collection[Path]
) -> dict[Path, Versus]:
    """Each run (by folder) against the baseline, RESAMPLES paired resamples of seed 0;
    TestSetMismatch when a run whose folder is in
    `named` (given by itself, not found in a searched folder) was tested on another test set."""
    base = baseline_errors(baseline)
    others = {
        run.path: seed_errors([read_utterances(run.path)])
        for run in runs
        if run.path != baseline.path
    }
    results = against_baseline(base, others)
    for run in runs:
        if run.path in named:
            require_same_test_set(run.name, baseline.name, results.get(run.path, BASELINE))
    results[baseline.path] = BASELINE
    return results
