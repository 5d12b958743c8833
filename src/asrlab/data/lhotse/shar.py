"""The cuts of Lhotse Shar shards with their audio, read shard by shard as Lhotse reads them,
but each audio tar by `asrlab.data.lhotse.tar` instead of `tarfile` (a third of a short cut's
CPU in Lhotse's reader: bench/shards.py)."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lhotse import Recording
from lhotse.cut import Cut
from lhotse.lazy import LazyManifestIterator
from lhotse.serialization import decode_json_line

from asrlab.data.audio import AudioError
from asrlab.data.lhotse.tar import TarError, members
from asrlab.data.manifest import ManifestError

FIELDS = {"cuts", "recording"}
"""The Shar fields read here; folders with others (features, arrays) are read by Lhotse."""


class SharCuts:
    """Iterable: the cuts of the `cuts` shards in order, each with its `recording` from the
    audio shard of the same index (in memory), or metadata only when `recording` is not given.
    A cut without its audio member, or a member without its cut, raises AudioError naming the
    cut and the shard; a shard that cannot be read otherwise, ManifestError naming it."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.cuts = list(fields["cuts"])
        self.audio = list(fields.get("recording", []))

    def __iter__(self) -> Iterator[Cut]:
        for index, cuts in enumerate(self.cuts):
            with naming_the_shard([cuts, *self.audio[index : index + 1]]):
                if not self.audio:
                    yield from LazyManifestIterator(cuts)
                else:
                    yield from _with_audio(LazyManifestIterator(cuts), self.audio[index])


@contextmanager
def naming_the_shard(files: list[str]) -> Iterator[None]:
    """What goes wrong reading one shard's `files` (a line that is not a cut, a file that is not
    gzip or tar, whatever Lhotse raises) as one ManifestError naming them; AudioErrors, which
    name their cut, pass."""
    try:
        yield
    except AudioError:
        raise
    except Exception as err:  # lhotse raises many kinds; each means this shard
        names = " + ".join(Path(path).name for path in files)
        where = f"Shar shard {names} in {Path(files[0]).parent}"
        raise ManifestError(f"{where}: cannot read it ({first_line(err)})") from None


def first_line(err: Exception) -> str:
    """An exception's first line (lhotse appends lines of context), or its type's name."""
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _with_audio(cuts: LazyManifestIterator, tar: str) -> Iterator[Cut]:
    """The cuts of one shard, each given its audio: the tar's members come in pairs, the audio
    (`<cut id>.<format>`, or `.nodata` for a cut without) then its Recording (`.json`)."""
    pairs = _pairs(tar)
    for cut in cuts:
        data_name, data, meta = next(pairs, (None, b"", b""))
        if data_name is None:
            raise AudioError(f"Shar shard {tar}: no audio for cut {cut.id} (the tar ends)")
        if data_name.rpartition(".")[0] != cut.id:  # `../../ID.flac` is not ID's either
            raise AudioError(f"Shar shard {tar}: cut {cut.id} meets audio {data_name}")
        if not data_name.endswith(".nodata"):
            cut.recording = Recording.from_dict(decode_json_line(meta.decode()))
            cut.recording.sources[0].type = "memory"
            cut.recording.sources[0].source = data
        yield cut
    if (extra := next(pairs, None)) is not None:
        raise AudioError(f"Shar shard {tar}: audio {extra[0]} has no cut in {cuts.path}")


def _pairs(tar: str) -> Iterator[tuple[str, bytes, bytes]]:
    """`(audio member name, audio bytes, Recording JSON)` of each pair of members."""
    try:
        items = members(tar)
        for name, data in items:
            _, meta = next(items, (None, b""))
            yield name, data, meta
    except TarError as err:
        raise AudioError(f"Shar shard {err}") from None
