"""JSONL manifests (NeMo's fields: audio_filepath, duration, text) and their up-front validation."""

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from asrlab.data.audio import AudioError, check_audio_file
from asrlab.text.tokenizer import Tokenizer


class ManifestError(ValueError):
    """A manifest line that cannot be trained on; the message names the file and the line."""


class Utterance(NamedTuple):
    """One manifest line, with its audio path resolved and its place recorded for messages."""

    audio_filepath: str  # absolute; a str, since a million Path objects take seconds to build
    duration: float
    text: str
    where: str  # "manifest.jsonl:LINE"


FIELDS = ("audio_filepath", "duration", "text")


@dataclass(frozen=True)
class Problem:
    """Why one manifest line cannot be trained on."""

    index: int | None  # position in the utterance list; None for a line that did not parse
    where: str  # "manifest.jsonl:LINE"
    message: str


MAX_DURATION = 24 * 3600.0
"""Seconds; a longer manifest duration is a wrong unit (milliseconds, samples) or a corrupt value,
not an utterance: no recipe or recorder makes day-long training files."""


def read_manifest(path: str | Path, malformed: list[Problem] | None = None) -> list[Utterance]:
    """Parse a JSONL manifest; relative audio paths are resolved against the manifest's folder.

    A line that is not UTF-8 JSON with a string audio_filepath and text and a finite duration in
    (0, MAX_DURATION] seconds raises ManifestError naming the file and line, or, given
    `malformed`, is appended there (index None) and left out.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    utterances = []
    folder = str(path.resolve().parent)
    with path.open("rb") as f:  # binary, so that a bad byte's line can be named
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                audio, seconds, text = _parse(line)
            except ManifestError as err:
                if malformed is None:
                    raise ManifestError(f"{where}: {err}") from err
                malformed.append(Problem(None, where, str(err)))
                continue
            utterances.append(Utterance(os.path.join(folder, audio), seconds, text, where))
    if not utterances and not malformed:
        raise ManifestError(f"manifest is empty: {path}")
    return utterances


def _parse(line: bytes) -> tuple[str, float, str]:
    """One manifest line's audio path, duration and text; raises ManifestError saying what is
    wrong with it."""
    try:
        entry = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ManifestError(
            f"not UTF-8 (byte {line[err.start]:#04x} at column {err.start + 1}); "
            "re-encode the manifest as UTF-8"
        ) from err
    except json.JSONDecodeError as err:
        raise ManifestError(f"not JSON ({err})") from err
    if not isinstance(entry, dict) or not all(key in entry for key in FIELDS):
        raise ManifestError(f"not a JSON object with {', '.join(FIELDS)}")
    audio, duration, text = (entry[key] for key in FIELDS)
    for key, value in (("audio_filepath", audio), ("text", text)):
        if not isinstance(value, str):
            raise ManifestError(f"{key} must be a string, got {json.dumps(value)}")
    try:
        seconds = float(duration) if not isinstance(duration, bool) else math.nan
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 < seconds <= MAX_DURATION:  # NaN fails every comparison
        raise ManifestError(
            f"duration must be a number of seconds in (0, {MAX_DURATION:g}], "
            f"got {json.dumps(duration)}"
        )
    return audio, seconds, text


def write_manifest(path: str | Path, entries: Iterable[dict]) -> Path:
    """Write one JSON object per line; entries need audio_filepath, duration and text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path


DURATION_SLACK = 0.1
"""Seconds by which a manifest's duration may differ from its file's whatever the tolerance:
recipes round durations, and a short file's rounding is a large fraction of it."""


def duration_mismatch(listed: float, measured: float, tolerance: float) -> str | None:
    """What is wrong when a manifest lists `listed` seconds for a file of `measured` seconds,
    more than `tolerance` (a fraction of `measured`) and DURATION_SLACK apart; None if nothing.
    Bucketing and the feasibility check trust the manifest's duration."""
    if abs(listed - measured) <= max(DURATION_SLACK, tolerance * measured):
        return None
    return (
        f"the manifest says {listed:.3f} s but the file has {measured:.3f} s "
        f"(tolerance {tolerance:.0%}, at least {DURATION_SLACK:g} s)"
    )


def find_problems(
    utterances: list[Utterance],
    tokenizer: Tokenizer,
    check_audio: bool = True,
    duration_tolerance: float = 0.1,
) -> list[Problem]:
    """Every line whose audio is missing, unreadable, empty, has NaN or inf samples, or
    contradicts the manifest's duration by more than `duration_tolerance` (header only, and the
    samples of floating-point files, when `check_audio`), or whose transcript is empty or has
    characters the tokenizer cannot encode."""
    problems = []
    for index, utt in enumerate(utterances):
        message = None
        if check_audio:
            try:
                info = check_audio_file(utt.audio_filepath)
                message = duration_mismatch(utt.duration, info.duration, duration_tolerance)
            except AudioError as err:
                message = str(err)
        norm = tokenizer.normalize(utt.text)
        if message is None and not norm:
            message = f"empty transcript for {utt.audio_filepath}"
        elif message is None and (unknown := tokenizer.unknown_chars(norm, normalized=True)):
            message = (
                f"transcript {utt.text!r} has characters the tokenizer cannot encode: "
                f"{sorted(unknown)!r}"
            )
        if message is not None:
            problems.append(Problem(index, utt.where, message))
    return problems


def describe(problems: list[Problem], limit: int = 20) -> str:
    """A readable list of problems, one `file:line: message` per line."""
    shown = "\n  ".join(f"{p.where}: {p.message}" for p in problems[:limit])
    more = f"\n  ... and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} bad manifest line(s):\n  {shown}{more}"


def validate(utterances: list[Utterance], tokenizer: Tokenizer) -> None:
    """Check every line before training starts; raises ManifestError listing each bad line."""
    if problems := find_problems(utterances, tokenizer):
        raise ManifestError(describe(problems))
