"""Audio outliers, read from the files: what asrlab-data's scan flags (unreadable, NaN or inf
samples, another sample rate, silent, too long, a manifest duration that the file contradicts),
and durations out of proportion to their transcripts."""

from collections import Counter
from typing import Any

import numpy as np
from rich.progress import track

from asrlab.data.manifest import Utterance
from asrlab.data.scan import ScanOptions, audio_issues
from asrlab.text.tokenizer import normalize_text
from asrlab.training.preflight.findings import Finding

MIN_FOR_OUTLIERS = 4
"""Fewer utterances in a split than this have no duration outliers."""


def _row(split: str, utt: Utterance, seconds: float | None, problem: str) -> dict[str, Any]:
    return {
        "split": split,
        "id": utt.where,
        "seconds": None if seconds is None else round(seconds, 3),
        "problem": problem,
    }


def duration_outliers(
    split: str, measured: list[tuple[Utterance, float]], iqr_factor: float
) -> list[dict[str, Any]]:
    """Utterances far too long or short for their transcript: seconds per character outside
    Tukey's fences of their split, [Q1 - k IQR, Q3 + k IQR] on a log scale."""
    if len(measured) < MIN_FOR_OUTLIERS:
        return []
    per_char = np.array([s / max(1, len(normalize_text(u.text))) for u, s in measured])
    q1, q3 = np.percentile(np.log(per_char), [25, 75])
    low, high = np.exp([q1 - iqr_factor * (q3 - q1), q3 + iqr_factor * (q3 - q1)])
    fences = f"outside {low:.3f} .. {high:.3f}"
    return [
        _row(split, utt, seconds, f"duration outlier: {rate:.3f} s per character, {fences}")
        for (utt, seconds), rate in zip(measured, per_char, strict=True)
        if not low <= rate <= high
    ]


def audio_check(
    utterances: dict[str, list[Utterance]],
    options: ScanOptions,
    iqr_factor: float,
    progress: bool = True,
) -> Finding:
    """Reads every file once (header and samples); unreadable files are fatal, as they stop
    training, the rest are warnings."""
    rows: list[dict[str, Any]] = []
    unreadable, rates, durations = 0, Counter[int](), []
    for split, utts in utterances.items():
        measured = []
        for utt in track(utts, description=f"audio {split}", disable=not progress):
            info, issues = audio_issues(utt, options)
            seconds = info.duration if info else None
            rows += [_row(split, utt, seconds, issue.reason) for issue in issues]
            if info is None:
                unreadable += 1
                continue
            rates[info.sample_rate] += 1
            measured.append((utt, info.duration))
        rows += duration_outliers(split, measured, iqr_factor)
        durations += [seconds for _, seconds in measured]
    summary = (
        f"{sum(rates.values())} readable files, sample rates "
        + ", ".join(f"{rate} Hz x {n}" for rate, n in sorted(rates.items()))
        + (
            f", durations {min(durations):.2f} / {np.median(durations):.2f} / "
            f"{max(durations):.2f} s (min / median / max)"
            if durations
            else ""
        )
    )
    if not rows:
        return Finding("audio", "ok", summary)
    fixes = [
        "look at the listed files: another sample rate is resampled at every load (resample "
        "once, offline), silent or outlying files are often broken or mislabelled, a wrong "
        "manifest duration misleads bucketing and the feasibility check; asrlab-data writes "
        "clean manifests without the bad files"
    ]
    if unreadable:
        fixes.insert(0, "replace or remove the unreadable files (training stops at them)")
    severity = "fatal" if unreadable else "warning"
    summary += f"; {len(rows)} problem(s)" + (f", {unreadable} unreadable" if unreadable else "")
    return Finding("audio", severity, summary, "; ".join(fixes), rows)
