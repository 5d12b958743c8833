"""The audio files that asrlab-transcribe's inputs name: files, folders and glob patterns."""

import glob
from collections.abc import Sequence
from pathlib import Path

from asrlab.data.audio import AUDIO_SUFFIXES

GLOB_CHARS = frozenset("*?[")


def is_audio(path: Path) -> bool:
    """A file with the suffix of one of soundfile's formats."""
    return path.suffix.lower() in AUDIO_SUFFIXES and path.is_file()


def folder_audio(folder: Path) -> list[Path]:
    """The audio files under `folder`, recursively, sorted."""
    return sorted(path for path in folder.rglob("*") if is_audio(path))


def find_audio(inputs: Sequence[str]) -> list[Path]:
    """The files to transcribe, input by input: a folder (or a path ending in "/") gives its
    audio files, a glob pattern (`*`, `?`, `[`; `**` spans folders) the audio files and folders
    it matches, anything else is a file, taken as it is (a missing or unreadable one is reported
    when it is read).

    Raises ValueError when there are no inputs, or a folder or pattern holds no audio file.
    """
    if not inputs:
        raise ValueError("no inputs: give inputs=[FILE,FOLDER,...]")
    paths: list[Path] = []
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_dir() or text.endswith("/"):
            found = folder_audio(path) if path.is_dir() else []
        elif GLOB_CHARS.intersection(text) and not path.exists():
            matches = sorted(Path(match) for match in glob.glob(str(path), recursive=True))
            found = [
                audio
                for match in matches
                for audio in (folder_audio(match) if match.is_dir() else [match])
                if is_audio(audio)
            ]
        else:
            found = [path]
        if not found:
            suffixes = " ".join(sorted(AUDIO_SUFFIXES))
            raise ValueError(f"input {text!r} matches no audio file (suffixes read: {suffixes})")
        paths += found
    return paths
