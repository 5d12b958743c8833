"""A Kaldi data directory (`wav.scp`, `text`, `segments`, `utt2spk`) as Lhotse cuts, read by
`lhotse.kaldi.load_kaldi_data_dir` once its bad entries are named (or left out)."""

import tempfile
from pathlib import Path

from lhotse import CutSet
from lhotse.kaldi import load_kaldi_data_dir

from asrlab.data.manifest import ManifestError, Problem, describe

RECORDING_FILES = ("wav.scp", "reco2dur")
"""Files keyed by recording id."""
UTTERANCE_FILES = ("segments", "text", "utt2spk", "utt2lang")
"""Files keyed by utterance id (which is the recording id without `segments`)."""

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
    """The entries that cannot be trained on, each named by file and line: a `wav.scp` pipe
    command (`cmd |`) or missing file, an utterance without a `text` entry; and the ids of
    every recording and utterance they leave out."""
    wav_scp = folder / "wav.scp"
    if not wav_scp.is_file():
        raise ManifestError(f"{folder}: not a Kaldi data directory (no wav.scp)")
    segments = folder / "segments"
    if not (segments.is_file() or (folder / "utt2spk").is_file()):
        raise ManifestError(f"{folder}: needs segments or utt2spk (the utterances)")
    problems, bad = [], set()
    for number, recording, audio in _entries(wav_scp):
        if audio.endswith("|"):
            message = "is a pipe command (cmd |); write its audio to a file first"
        elif not Path(audio).is_file():
            message = f"has no audio file {audio}"
        else:
            continue
        problems.append(Problem(None, f"{wav_scp}:{number}", f"recording {recording} {message}"))
        bad.add(recording)
    texts = {key: text for _, key, text in _entries(folder / "text")}
    listed = (
        [(n, utt, rest.split()[0]) for n, utt, rest in _entries(segments)]
        if segments.is_file()
        else [(n, rec, rec) for n, rec, _ in _entries(wav_scp)]
    )
    where = segments if segments.is_file() else wav_scp
    for number, utterance, recording in listed:
        if recording in bad:
            bad.add(utterance)
        elif not texts.get(utterance):
            problems.append(
                Problem(None, f"{where}:{number}", f"utterance {utterance} has no text entry")
            )
            bad.add(utterance)
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
    cuts = CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
    return cuts.trim_to_supervisions(keep_overlapping=False).to_eager()
