"""JSONL manifests (NeMo's fields: audio_filepath, duration, text) and their up-front validation."""

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from asrlab.data.audio import AudioError, audio_info
from asrlab.data.tokenizer import Tokenizer


class ManifestError(ValueError):
    """A manifest line that cannot be trained on; the message names the file and the line."""


class Utterance(NamedTuple):
    """One manifest line, with its audio path resolved and its place recorded for messages."""

    audio_filepath: str  # absolute; a str, since a million Path objects take seconds to build
    duration: float
    text: str
    where: str  # "manifest.jsonl:LINE"


def read_manifest(path: str | Path) -> list[Utterance]:
    """Parse a JSONL manifest; relative audio paths are resolved against the manifest's folder."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    utterances = []
    folder = str(path.resolve().parent)
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                entry = json.loads(line)
                audio = os.path.join(folder, entry["audio_filepath"])
                duration = float(entry["duration"])
                text = entry["text"]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise ManifestError(
                    f"{where}: not a JSON object with audio_filepath, duration and text ({err})"
                ) from err
            utterances.append(Utterance(audio, duration, str(text), where))
    if not utterances:
        raise ManifestError(f"manifest is empty: {path}")
    return utterances


def write_manifest(path: str | Path, entries: Iterable[dict]) -> Path:
    """Write one JSON object per line; entries need audio_filepath, duration and text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path


@dataclass(frozen=True)
class Problem:
    """Why one manifest line cannot be trained on."""

    index: int  # position in the utterance list
    where: str  # "manifest.jsonl:LINE"
    message: str


def find_problems(
    utterances: list[Utterance], tokenizer: Tokenizer, check_audio: bool = True
) -> list[Problem]:
    """Every line whose audio is missing, unreadable or empty (header only, when `check_audio`),
    or whose transcript is empty or has characters the tokenizer cannot encode."""
    problems = []
    for index, utt in enumerate(utterances):
        message = None
        if check_audio:
            try:
                audio_info(utt.audio_filepath)
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
