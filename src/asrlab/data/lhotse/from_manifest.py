"""A JSONL manifest's lines as Lhotse cuts: a recording each, its transcript one supervision."""

import json
from collections.abc import Iterator
from pathlib import Path

from lhotse import Recording, SupervisionSegment
from lhotse.cut import Cut
from lhotse.utils import fastcopy

from asrlab.data.manifest import ManifestError, Problem, Utterance, read_manifest


def manifest_cuts(manifest: Path, skipped: list[Problem] | None = None) -> Iterator[Cut]:
    """The cuts of `manifest`'s lines, in order: id the audio file's stem (`stem-LINE` for a
    stem met before), duration the file's, text and `speaker` the line's. A line whose audio
    header cannot be read, or that does not parse, raises ManifestError naming it or, given
    `skipped`, is appended there and left out."""
    utterances = read_manifest(manifest, skipped)
    speakers = _speakers(manifest)
    seen: set[str] = set()
    for index, utt in enumerate(utterances):
        line = int(utt.where.rpartition(":")[2])
        cut_id = Path(utt.audio_filepath).stem
        cut_id = f"{cut_id}-{line}" if cut_id in seen else cut_id
        seen.add(cut_id)
        try:
            recording = Recording.from_file(utt.audio_filepath, recording_id=cut_id)
        except Exception as err:  # lhotse raises many kinds; each one means this file's header
            problem = Problem(index, utt.where, f"cannot read {utt.audio_filepath} ({err})")
            if skipped is None:
                raise ManifestError(f"{problem.where}: {problem.message}") from None
            skipped.append(problem)
            continue
        yield _cut(recording, utt, speakers.get(line))


def _cut(recording: Recording, utt: Utterance, speaker: str | None) -> Cut:
    supervision = SupervisionSegment(
        recording.id, recording.id, 0.0, recording.duration, text=utt.text, speaker=speaker
    )
    return fastcopy(recording.to_cut(), supervisions=[supervision])


def _speakers(manifest: Path) -> dict[int, str]:
    """The `speaker` of each line (by number) that names one."""
    speakers = {}
    with manifest.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                entry = json.loads(line)
            except ValueError:  # a blank or malformed line: read_manifest has dealt with it
                continue
            if isinstance(entry, dict) and entry.get("speaker") not in (None, ""):
                speakers[number] = str(entry["speaker"])
    return speakers
