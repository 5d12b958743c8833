"""Lhotse CutSets as asrlab reads them: opened from a manifest or a Shar folder, and checked."""

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.cut import Cut, MonoCut
from lhotse.lazy import Dillable, LazyManifestIterator
from lhotse.serialization import decode_json_line, deserialize_item, open_best
from lhotse.shar import LazySharIterator

from asrlab.data.lhotse.shar import FIELDS, SharCuts, naming_the_shard
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
            recordings=RecordingSet.from_recordings(_Lines(recordings, Recording)),
            supervisions=SupervisionSet.from_segments(_Lines(supervisions, SupervisionSegment)),
        )
    path = _existing(spec)
    if path.is_dir():
        return shar_cuts(shar_fields(path), audio)
    lines = _Lines(path, Cut)
    return CutSet(lines) if lazy else CutSet.from_cuts(lines)


class _Lines(LazyManifestIterator):
    """A Lhotse manifest's items (cuts, recordings or supervisions: `kind`), read on each pass;
    a line that is not one raises ManifestError naming the file and line."""

    def __init__(self, path: Path, kind: type) -> None:
        super().__init__(path)
        self.kind = kind

    def __iter__(self) -> Iterator[Any]:
        what = f"a Lhotse {self.kind.__name__}"
        with open_best(self.path, "r") as f:
            for number, line in enumerate(f, start=1):
                try:
                    item = deserialize_item(decode_json_line(line))
                except Exception as err:  # lhotse raises many kinds; each means this line
                    raise ManifestError(f"{self.path}:{number}: not {what} ({err})") from None
                if not isinstance(item, self.kind):
                    found = type(item).__name__
                    raise ManifestError(f"{self.path}:{number}: a {found}, not {what}")
                yield item


class _SharShards(Dillable):
    """A Shar folder's cuts, read shard by shard on each pass; what goes wrong reading a shard
    (a line that is not a cut, a member that is not its cut's, a file that is not gzip or tar)
    raises ManifestError naming it."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def __iter__(self) -> Iterator[Cut]:
        for index in range(len(self.fields["cuts"])):
            files = {field: paths[index] for field, paths in self.fields.items()}
            with naming_the_shard(list(files.values())):
                yield from LazySharIterator({field: [path] for field, path in files.items()})


def shar_cuts(fields: Mapping[str, list[str]], audio: bool = True) -> CutSet:
    """The cuts of these Shar shards, streamed shard by shard; `audio=False`: their metadata
    only. Shards of the audio only are read by `SharCuts`, others by Lhotse's reader; a shard
    that cannot be read raises ManifestError naming it."""
    if not audio:
        return CutSet(SharCuts({"cuts": fields["cuts"]}))
    if set(fields) <= FIELDS:
        return CutSet(SharCuts(fields))
    return CutSet(_SharShards(dict(fields)))


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


def cut_problems(cuts: Iterable[Cut], tokenizer: Tokenizer, urls: bool = False) -> list[Problem]:
    """Every cut that cannot be trained on: audio it may not read (`source_problem`), a duration,
    span or sampling rate that is not a real one, no supervision or one without text,
    overlapping supervisions, a supervision outside the cut, or a transcript the tokenizer
    cannot encode. `where` is the cut id."""
    problems = []
    for index, cut in enumerate(cuts):
        if message := source_problem(cut, urls) or _problem(cut, tokenizer):
            problems.append(Problem(index, f"cut {cut.id}", message))
    return problems


def shar_problems(
    fields: Mapping[str, list[str]], tokenizer: Tokenizer, urls: bool = False
) -> tuple[list[Problem], list[np.ndarray]]:
    """`cut_problems` of the cuts of these Shar shards (metadata only), read one shard at a
    time, and each shard's cut durations (s) in order."""
    problems: list[Problem] = []
    durations = []
    before = 0  # cuts in the shards before this one
    for path in fields["cuts"]:
        cuts = list(shar_cuts({"cuts": [path]}, audio=False))
        for problem in cut_problems(cuts, tokenizer, urls):
            problems.append(replace(problem, index=before + problem.index))
        durations.append(np.array([cut.duration for cut in cuts], dtype=np.float64))
        before += len(cuts)
    return problems, durations


def source_problem(cut: Cut, urls: bool = False) -> str | None:
    """Why the cut's audio may not be read, if it may not: a source anywhere in its manifest (its
    recording, a mixed cut's tracks, a transform's impulse response) that is a pipe command
    (Kaldi `wav.scp` `cmd |`), or a URL (fetched only given `urls`)."""
    types = _source_types(cut)
    if "command" in types:
        return "audio comes from a pipe command (Kaldi wav.scp 'cmd |'); write it to a file first"
    if "url" in types and not urls:
        return "audio comes from a URL, fetched only with data.allow_urls=true"
    return None


def _source_types(cut: Cut) -> set[str]:
    """The types of the audio sources anywhere in the cut's manifest. A MonoCut's recording
    without transforms is read off the objects, its custom fields (its supervisions') walked as
    dicts: `to_dict` of the whole cut would copy a Shar cut's audio bytes, which costs more than
    decoding them. Any other cut is walked whole."""
    if type(cut) is not MonoCut or (cut.recording is not None and cut.recording.transforms):
        return {source["type"] for source in _sources(cut.to_dict())}
    customs = [cut.custom or {}, *(s.custom or {} for s in cut.supervisions)]
    values = [_as_dict(value) for custom in customs for value in custom.values()]
    types = {source["type"] for source in _sources(values)}
    return types | {source.type for source in (cut.recording.sources if cut.recording else [])}


def _as_dict(value: Any) -> Any:
    """A custom field's value with the manifest objects in it (a Recording) as their dicts."""
    if callable(getattr(value, "to_dict", None)):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [_as_dict(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_dict(item) for key, item in value.items()}
    return value


def _sources(item: Any) -> Iterator[dict]:
    """The audio sources (`{type, channels, source}`) anywhere in a manifest's dict."""
    if isinstance(item, dict):
        if {"type", "channels", "source"} <= item.keys():
            yield item
        for value in item.values():
            yield from _sources(value)
    elif isinstance(item, list):
        for value in item:
            yield from _sources(value)


def _problem(cut: Cut, tokenizer: Tokenizer) -> str | None:
    if problem := _field_problem(cut):
        return problem
    if not cut.duration > 0:
        return f"duration {cut.duration} s is not a positive number"
    recording = getattr(cut, "recording", None)
    if recording is not None and not recording.sampling_rate > 0:
        return f"recording {recording.id} has sampling rate {recording.sampling_rate}"
    if recording is not None and not 0 <= cut.start <= cut.end <= recording.duration + 1e-3:
        return (
            f"cut from {cut.start:.2f} s to {cut.end:.2f} s lies outside its recording "
            f"{recording.id} ({recording.duration:.2f} s)"
        )
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


def _field_problem(cut: Cut) -> str | None:
    """A time or rate of the cut's manifest that is not a finite number, or a supervision's
    text or speaker that is not a string (JSON holds whatever it was given)."""
    numbers = {"duration": cut.duration, "start": getattr(cut, "start", 0.0)}
    if (recording := getattr(cut, "recording", None)) is not None:
        numbers[f"recording {recording.id} sampling rate"] = recording.sampling_rate
        numbers[f"recording {recording.id} duration"] = recording.duration
    for s in cut.supervisions:
        numbers.update(
            {f"supervision {s.id} start": s.start, f"supervision {s.id} duration": s.duration}
        )
    for name, value in numbers.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return f"{name} {value!r} is not a finite number"
    for s in cut.supervisions:
        for field in ("text", "speaker"):
            if (value := getattr(s, field)) is not None and not isinstance(value, str):
                return f"supervision {s.id} {field} is a {type(value).__name__}, not a string"
    return None


def transcript(cut: Cut) -> str:
    """The cut's supervision texts in time order."""
    return " ".join(s.text for s in sorted(cut.supervisions, key=lambda s: s.start))


def speaker(cut: Cut) -> str | None:
    """The speaker of the cut's first supervision, if it names one."""
    return cut.supervisions[0].speaker if cut.supervisions else None
