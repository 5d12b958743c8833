"""Lhotse CutSets as asrlab reads them: opened from a manifest or a Shar folder, and checked."""

from collections.abc import Iterable, Mapping
from pathlib import Path

from lhotse import CutSet, RecordingSet, SupervisionSet
from lhotse.cut import Cut

from asrlab.data.lhotse.shar import FIELDS, SharCuts
from asrlab.data.lhotse.tar import TarError, members
from asrlab.data.manifest import ManifestError, Problem
from asrlab.text.tokenizer import Tokenizer

CutsSpec = str | Mapping[str, str]
"""A cuts manifest (`cuts_*.jsonl.gz`), a Shar folder, or `{recordings, supervisions}` files."""


def open_cuts(spec: CutsSpec, lazy: bool = False, audio: bool = True) -> CutSet:
    """The cuts of `spec`; `lazy` streams a cuts manifest instead of reading it whole. A Shar
    folder always streams (its cuts carry their audio, unless `audio=False`: metadata only).
    Raises ManifestError on what is missing."""
    if isinstance(spec, Mapping):
        if set(spec) != {"recordings", "supervisions"}:
            raise ManifestError(
                f"give a cuts file, a Shar folder or recordings+supervisions: {spec}"
            )
        recordings, supervisions = (_existing(spec[key]) for key in ("recordings", "supervisions"))
        return CutSet.from_manifests(
            recordings=RecordingSet.from_file(recordings),
            supervisions=SupervisionSet.from_file(supervisions),
        )
    path = _existing(spec)
    if path.is_dir():
        return shar_cuts(shar_fields(path), audio)
    return CutSet.from_jsonl_lazy(path) if lazy else CutSet.from_file(path)


def shar_cuts(fields: Mapping[str, list[str]], audio: bool = True) -> CutSet:
    """The cuts of these Shar shards, streamed; `audio=False`: their metadata only. Shards of
    the audio only are read by `SharCuts`, others by Lhotse."""
    if not audio:
        return CutSet(SharCuts({"cuts": fields["cuts"]}))
    if set(fields) <= FIELDS:
        return CutSet(SharCuts(fields))
    return CutSet.from_shar(fields=dict(fields))


def _existing(path: str) -> Path:
    if not Path(path).exists():
        raise ManifestError(f"Lhotse manifest not found: {path}")
    return Path(path)


def shar_fields(folder: Path) -> dict[str, list[str]]:
    """Each field's shard files of a Shar folder (`cuts.000000.jsonl.gz`, `recording.000000.tar`,
    ...); raises ManifestError naming a shard whose partner is missing or a tar cut short."""
    fields: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        field, _, rest = path.name.partition(".")
        index, _, _ = rest.partition(".")
        fields.setdefault(field, {})[index] = path
    if "cuts" not in fields:
        raise ManifestError(f"{folder}: not a Lhotse Shar folder (no cuts.*.jsonl.gz shards)")
    indices = set(fields["cuts"])
    for field, shards in fields.items():
        if missing := sorted(indices ^ set(shards)):
            raise ManifestError(f"{folder}: shard {missing[0]} of field {field!r} is missing")
        for path in shards.values():
            if path.suffix == ".tar":
                _check_tar(path)
    return {field: [str(p) for _, p in sorted(s.items())] for field, s in fields.items()}


def _check_tar(path: Path) -> None:
    """Reads the tar's member headers to its end (no audio read)."""
    try:
        for _ in members(path, data=False):
            pass
    except TarError as err:
        raise ManifestError(f"Shar shard {path} is truncated or corrupt ({err})") from None


def cut_problems(cuts: Iterable[Cut], tokenizer: Tokenizer) -> list[Problem]:
    """Every cut that cannot be trained on: no supervision or one without text, overlapping
    supervisions, a supervision outside the cut, audio from a pipe command (Kaldi `wav.scp`
    `... |`), or a transcript the tokenizer cannot encode. `where` is the cut id."""
    problems = []
    for index, cut in enumerate(cuts):
        if message := _problem(cut, tokenizer):
            problems.append(Problem(index, f"cut {cut.id}", message))
    return problems


def _problem(cut: Cut, tokenizer: Tokenizer) -> str | None:
    recording = getattr(cut, "recording", None)
    if recording is not None and any(s.type == "command" for s in recording.sources):
        return "audio comes from a pipe command (Kaldi wav.scp 'cmd |'); write it to a file first"
    sups = sorted(cut.supervisions, key=lambda s: s.start)
    if not sups or any(not (s.text or "").strip() for s in sups):
        return "a supervision without text"
    for s in sups:
        if s.start < -1e-3 or s.end > cut.duration + 1e-3:
            return f"supervision {s.id} ({s.start:.2f}-{s.end:.2f} s) lies outside the cut"
    for a, b in zip(sups, sups[1:], strict=False):
        if b.start < a.end - 1e-3:
            return f"supervisions {a.id} and {b.id} overlap"
    text = tokenizer.normalize(transcript(cut))
    if unknown := tokenizer.unknown_chars(text, normalized=True):
        return f"transcript has characters the tokenizer cannot encode: {sorted(unknown)!r}"
    return None


def transcript(cut: Cut) -> str:
    """The cut's supervision texts in time order."""
    return " ".join(s.text for s in sorted(cut.supervisions, key=lambda s: s.start))


def speaker(cut: Cut) -> str | None:
    """The speaker of the cut's first supervision, if it names one."""
    return cut.supervisions[0].speaker if cut.supervisions else None
