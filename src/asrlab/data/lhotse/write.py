"""One split's cuts written as a cuts manifest and, optionally, as Lhotse Shar shards."""

import shutil
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path

from lhotse import CutSet
from lhotse.cut import Cut
from lhotse.shar import SharWriter

from asrlab.data.manifest import ManifestError

AUDIO_FORMATS = ("wav", "flac")
"""How the Shar shards hold the audio: both lossless for 16-bit PCM; WAV decodes in a
thirteenth of FLAC's CPU for 1.34 times its bytes on bench/shards.py's corpus (docs/benchmarks.md,
shards)."""


def split_outputs(out: Path, split: str) -> tuple[Path, Path]:
    """Where a split goes under `out`: its cuts manifest and its Shar folder."""
    return out / f"cuts_{split}.jsonl.gz", out / split


def refuse_existing(out: Path, splits: Sequence[str]) -> None:
    """Raises ManifestError naming the first output of `splits` already under `out`: written
    shards are never overwritten."""
    for split in splits:
        for path in split_outputs(out, split):
            if path.exists():
                raise ManifestError(
                    f"{path} exists: shards are not overwritten; "
                    "remove it or pick another shard.out"
                )


def write_split(
    cuts: Iterable[Cut],
    out: Path,
    split: str,
    shard_size: int,
    shar: bool = True,
    audio_format: str = "wav",
) -> int:
    """Streams `cuts` into `out/cuts_<split>.jsonl.gz` (pointing at the audio where it lies) and,
    with `shar`, into the Shar folder `out/<split>/` (audio as `audio_format`, `shard_size`
    cuts a shard). Both appear only once complete (written under `out/<split>.partial` first).
    Returns the number of cuts written; a `shard_size` below 1 (which Lhotse would take for one
    unnumbered shard, a layout `data=lhotse` does not read) or an unknown `audio_format` raises
    ManifestError."""
    if shar and shard_size < 1:
        raise ManifestError(f"shard.shard_size={shard_size}: must be at least 1 (cuts a shard)")
    if audio_format not in AUDIO_FORMATS:
        raise ManifestError(f"shard.audio_format={audio_format}: give one of {AUDIO_FORMATS}")
    manifest, folder = split_outputs(out, split)
    partial = out / f"{split}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # an interrupted earlier call's
    partial.mkdir(parents=True)
    count = 0
    with ExitStack() as stack:
        writers = [stack.enter_context(CutSet.open_writer(partial / manifest.name))]
        if shar:
            (partial / split).mkdir()
            writers.append(
                stack.enter_context(
                    SharWriter(partial / split, {"recording": audio_format}, shard_size)
                )
            )
        for cut in cuts:
            for writer in writers:
                writer.write(cut)
            count += 1
    if not count:
        raise ManifestError(f"split {split}: no cuts to write")
    if shar:
        (partial / split).rename(folder)
    (partial / manifest.name).rename(manifest)
    partial.rmdir()
    return count
