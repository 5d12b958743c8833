"""Shar shards read without `tarfile`: the same members, cuts and audio as Lhotse's reader, and
a shard whose cuts and audio do not pair named."""

import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
from lhotse import CutSet

from asrlab.data.audio import AudioError
from asrlab.data.lhotse.cuts import shar_cuts, shar_fields
from asrlab.data.lhotse.dataset import decode, in_memory
from asrlab.data.lhotse.tar import TarError, members
from asrlab.data.lhotse.write import write_split
from helpers import write_cuts


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:  # PAX, as Lhotse's writer
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_members_are_tarfiles_including_long_names(tmp_path: Path) -> None:
    files = {"a.wav": b"x" * 513, "d/" + "long" * 40 + ".json": b"{}", "empty.nodata": b""}
    tar = _tar(tmp_path / "t.tar", files)
    assert dict(members(tar)) == files
    assert [name for name, _ in members(tar, data=False)] == list(files)


@pytest.mark.parametrize("data", [True, False])
def test_truncated_tar_is_named(data: bool, tmp_path: Path) -> None:
    tar = _tar(tmp_path / "t.tar", {"a.wav": b"x" * 3000, "b.wav": b"y" * 3000})
    tar.write_bytes(tar.read_bytes()[:2000])
    with pytest.raises(TarError, match="t.tar"):
        list(members(tar, data))


@pytest.mark.parametrize("audio_format", ["wav", "flac"])
def test_shar_cuts_and_audio_are_lhotses(audio_format: str, tmp_path: Path) -> None:
    cuts = CutSet.from_file(write_cuts(tmp_path / "data", ["one", "two", "three"]))
    write_split(cuts, tmp_path / "out", "train", 2, audio_format=audio_format)
    fields = shar_fields(tmp_path / "out" / "train")
    assert fields["recording"][0].endswith(".tar")
    ours, lhotses = list(shar_cuts(fields)), list(CutSet.from_shar(fields=fields))
    # Lhotse's reader adds where it read each cut from (`custom`): nothing here reads it.
    lhotse_dicts = [{k: v for k, v in c.to_dict().items() if k != "custom"} for c in lhotses]
    assert [c.to_dict() for c in ours] == lhotse_dicts
    for ours_cut, cut in zip(ours, lhotses, strict=True):
        np.testing.assert_array_equal(in_memory(ours_cut, cut.sampling_rate), cut.load_audio())
        assert in_memory(ours_cut, cut.sampling_rate * 2) is None  # resampled by Lhotse
    assert [c.id for c in shar_cuts(fields, audio=False)] == [c.id for c in ours]


@pytest.mark.parametrize("lost", ["cut", "audio"])
def test_cut_and_audio_that_do_not_pair_are_named(lost: str, tmp_path: Path) -> None:
    cuts = CutSet.from_file(write_cuts(tmp_path / "data", ["one", "two", "three"]))
    write_split(cuts, tmp_path / "out", "train", 3)
    fields = shar_fields(tmp_path / "out" / "train")
    if lost == "cut":  # the audio of the last cut stays: a member without its cut
        lines = gzip.open(fields["cuts"][0], "rt").readlines()
        with gzip.open(fields["cuts"][0], "wt") as f:
            f.writelines(lines[:-1])
    else:  # a tar without the last cut's audio and its Recording
        kept = dict(list(members(fields["recording"][0]))[:-2])
        _tar(Path(fields["recording"][0]), kept)
    named = r"recording.000000.tar: (no audio for cut|audio .* has no cut)"
    with pytest.raises(AudioError, match=named):
        list(shar_cuts(fields))


def _with_chunk_before_data(wav: bytes) -> bytes:
    """The WAV with an odd-sized chunk (padded to even) between its fmt and data chunks."""
    at = wav.index(b"data")
    extra = b"junk" + (3).to_bytes(4, "little") + b"abc\0"
    body = wav[12:at] + extra + wav[at:]
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WAVE" + body


@pytest.mark.parametrize(
    ("audio_format", "subtype", "change"),
    [
        ("WAV", "PCM_16", None),
        ("WAV", "PCM_16", _with_chunk_before_data),
        ("WAV", "PCM_16", lambda wav: wav[:-7]),  # cut short inside a frame
        ("WAV", "PCM_24", None),
        ("WAV", "FLOAT", None),
        ("FLAC", "PCM_16", None),
    ],
)
def test_decoded_audio_is_soundfiles(audio_format: str, subtype: str, change) -> None:
    stereo = np.random.default_rng(0).uniform(-1, 1, (100, 2))
    data = io.BytesIO()
    soundfile.write(data, stereo, 8000, format=audio_format, subtype=subtype)
    wav = change(data.getvalue()) if change else data.getvalue()
    samples, _ = soundfile.read(io.BytesIO(wav), dtype="float32")
    decoded = decode(wav)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, samples.T)
