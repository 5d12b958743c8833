"""A Kaldi data directory (`wav.scp`, `text`, `segments`, `utt2spk`) as Lhotse cuts, read by
`lhotse.kaldi.load_kaldi_data_dir` once its bad entries are named (or left out)."""

import tempfile
from pathlib import Path

from lhotse import CutSet, SupervisionSet
from lhotse.kaldi import load_kaldi_data_dir

from asrlab.data.audio import AudioError, audio_info
from asrlab.data.manifest import ManifestError, Problem, describe

RECORDING_FILES = ("wav.scp", "reco2dur")
"""Files keyed by recording id."""
UTTERANCE_FILES = ("segments", "text", "utt2spk", "utt2lang")
"""Files keyed by utterance id (which is the recording id without `segments`)."""

SEGMENT_TOLERANCE = 0.01
"""Seconds a segment may end past its recording (Kaldi writes times to two decimals)."""

Entry = tuple[int, str, str]
"""A line of a Kaldi file: its number, its key, the rest."""


def _entries(path: Path) -> list[Entry]:
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        key, _, rest = line.strip().partition(" ")
        if key:
            entries.append((number, key, rest.strip()))
    return entries


def kaldi_problems(folder: Path) -> tuple[list[Problem], set[str]]:
    """The entries that cannot be trained on, each named by file and line: an id listed twice
    in one file, a `wav.scp` pipe command (`cmd |`) or a file that is not readable audio, a
    `segments` line that is not `utt recording start end` or lies outside its recording, an
    utterance without a `text` (or, given `utt2spk`, a speaker) entry, a `text` line for no
    utterance; and the ids of every recording and utterance they leave out."""
    wav_scp = folder / "wav.scp"
    if not wav_scp.is_file():
        raise ManifestError(f"{folder}: not a Kaldi data directory (no wav.scp)")
    segments = folder / "segments"
    if not (segments.is_file() or (folder / "utt2spk").is_file()):
        raise ManifestError(f"{folder}: needs segments or utt2spk (the utterances)")
    problems: list[Problem] = []
    bad: set[str] = set()

    def refuse(path: Path, number: int, key: str, message: str) -> None:
        problems.append(Problem(None, f"{path}:{number}", message))
        bad.add(key)

    for name in (*RECORDING_FILES, *UTTERANCE_FILES):
        first: dict[str, int] = {}
        for number, key, _ in _entries(folder / name):
            if key in first:
                refuse(folder / name, number, key, f"id {key} again (first on line {first[key]})")
            first.setdefault(key, number)
    durations = {}
    for number, recording, audio in _entries(wav_scp):
        if recording in bad:
            continue
        if audio.endswith("|"):
            message = "is a pipe command (cmd |); write its audio to a file first"
            refuse(wav_scp, number, recording, f"recording {recording} {message}")
        elif not Path(audio).is_file():
            refuse(wav_scp, number, recording, f"recording {recording} has no audio file {audio}")
        else:
            try:
                durations[recording] = audio_info(audio).duration
            except AudioError as err:
                refuse(wav_scp, number, recording, f"recording {recording}: {err}")
    where = segments if segments.is_file() else wav_scp
    listed: list[tuple[int, str, str, float, float | None]] = []
    for number, utterance, rest in _entries(where):
        fields = rest.split()
        if not segments.is_file():
            listed.append((number, utterance, utterance, 0.0, None))
            continue
        try:
            recording, start, end = fields[0], float(fields[1]), float(fields[2])
            if len(fields) != 3:
                raise ValueError
            listed.append((number, utterance, recording, start, end))
        except (IndexError, ValueError):
            refuse(where, number, utterance, f"want 'utterance recording start end': {rest!r}")
    texts = {key: text for _, key, text in _entries(folder / "text")}
    speakers = {key for _, key, _ in _entries(folder / "utt2spk")}
    for number, utterance, recording, start, end in listed:
        if utterance in bad:
            continue
        if recording in bad:
            bad.add(utterance)
            continue
        span = durations.get(recording)
        if span is None:
            message = f"utterance {utterance}: recording {recording} is not in wav.scp"
        elif end is not None and not 0 <= start < end <= span + SEGMENT_TOLERANCE:
            message = (
                f"utterance {utterance} (from {start} s to {end} s) lies outside "
                f"recording {recording} ({span:.2f} s)"
            )
        elif not texts.get(utterance):
            message = f"utterance {utterance} has no text entry"
        elif speakers and utterance not in speakers:
            message = f"utterance {utterance} has no utt2spk entry"
        else:
            continue
        refuse(where, number, utterance, message)
    utterances = {utterance for _, utterance, _ in _entries(where)}
    for number, key, _ in _entries(folder / "text"):
        if key not in utterances:
            message = f"{key} is no utterance of {where.name}"
            problems.append(Problem(None, f"{folder / 'text'}:{number}", message))
    return problems, bad


def described(problems: list[Problem]) -> str:
    """`problems` listed, one `file:line: message` a line."""
    return describe(problems).replace("manifest line", "Kaldi entry")


def kaldi_cuts(folder: Path, sample_rate: int, skipped: list[Problem] | None = None) -> CutSet:
    """The cuts of a Kaldi data directory whose audio is at `sample_rate`: a cut per utterance
    (its id), the utterance's span of its recording. A bad entry (`kaldi_problems`) raises
    ManifestError naming each or, given `skipped`, is appended there and left out."""
    problems, bad = kaldi_problems(folder)
    if problems and skipped is None:
        raise ManifestError(described(problems) + "\n(data.on_error=skip leaves them out instead)")
    if skipped is not None:
        skipped += problems
    with tempfile.TemporaryDirectory() as kept:
        for name in (*RECORDING_FILES, *UTTERANCE_FILES, "spk2gender"):
            lines = [
                f"{key} {rest}\n" for _, key, rest in _entries(folder / name) if key not in bad
            ]
            if (folder / name).is_file():
                (Path(kept) / name).write_text("".join(lines), encoding="utf-8")
        try:
            recordings, supervisions, _ = load_kaldi_data_dir(kept, sample_rate)
        except Exception as err:  # lhotse's asserts and audio errors alike
            raise ManifestError(f"{folder}: Lhotse cannot read it ({err!r})") from None
    # a segment may end up to SEGMENT_TOLERANCE past its recording: it ends with it
    clipped = [s.trim(recordings[s.recording_id].duration) for s in supervisions]
    cuts = CutSet.from_manifests(recordings=recordings, supervisions=SupervisionSet(clipped))
    return cuts.trim_to_supervisions(keep_overlapping=False).to_eager()
