"""data=lhotse on manifests from someone else: data, never code. Every audio source a cut names
is checked (not only its recording's), URLs are fetched only on request, and a cut that is not
a real one is named."""

import copy
import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from lhotse import CutSet
from lhotse.audio import AudioSource
from lhotse.utils import fastcopy

from asrlab.data.audio import AudioError
from asrlab.data.lhotse.cuts import cut_problems, source_problem
from asrlab.data.lhotse.datamodule import LhotseDataModule
from asrlab.data.lhotse.dataset import CutBatches
from asrlab.data.lhotse.source import LhotseCuts
from asrlab.data.manifest import ManifestError
from asrlab.text.tokenizer import CharTokenizer
from data.test_lhotse import data_module
from helpers import FRAMES_OF, write_cuts


def _command(marker: Path) -> dict:
    return {"type": "command", "channels": [0], "source": f"touch {marker} |"}


def _reverb_from_command(cut: dict, marker: Path) -> None:
    rir = copy.deepcopy(cut["recording"])
    rir["sources"] = [_command(marker)]
    cut["recording"]["transforms"] = [{"name": "ReverbWithImpulseResponse", "kwargs": {"rir": rir}}]


def _mixed_from_command(cut: dict, marker: Path) -> None:
    track = copy.deepcopy(cut)
    track.pop("type")
    track["recording"]["sources"] = [_command(marker)]
    cut.clear()
    cut.update(id=track["id"], type="MixedCut", duration=track["duration"])
    cut["tracks"] = [{"cut": track, "type": "MonoCut", "offset": 0.0}]


def _custom_recording_from_command(cut: dict, marker: Path) -> None:
    extra = copy.deepcopy(cut["recording"])
    extra["sources"] = [_command(marker)]
    cut["custom"] = {"noise": extra}


def _supervision_custom_from_command(cut: dict, marker: Path) -> None:
    cut["supervisions"][0]["custom"] = {"nested": [{"audio": _command(marker)}]}


def _url(cut: dict, marker: Path) -> None:
    cut["recording"]["sources"] = [
        {"type": "url", "channels": [0], "source": "http://127.0.0.1:9/a.wav"}
    ]


def _rewritten(cuts: Path, change, marker: Path) -> Path:
    """The cuts manifest with its second cut changed by `change`."""
    lines = [json.loads(line) for line in gzip.open(cuts, "rt")]
    change(lines[1], marker)
    out = cuts.with_name("changed.jsonl")
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return out


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_reverb_from_command, "pipe command"),
        (_mixed_from_command, "pipe command"),
        (_custom_recording_from_command, "pipe command"),
        (_supervision_custom_from_command, "pipe command"),
        (_url, r"URL, fetched only with data.allow_urls=true"),
    ],
)
def test_audio_source_anywhere_in_a_cut_is_checked(
    change, message: str, lazy: bool, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    cuts = _rewritten(write_cuts(tmp_path / "data", ["one", "two", "three"]), change, marker)
    data = data_module(cuts, tmp_path, lazy=lazy)
    with pytest.raises(ManifestError, match=rf"cut utt1-1: .*{message}"):
        data.setup("fit")
        list(data.train_dataloader())
    assert not marker.exists()


def test_url_source_passes_the_checks_when_allowed(tmp_path: Path) -> None:
    cuts = CutSet.from_file(_rewritten(write_cuts(tmp_path, ["one", "two"]), _url, tmp_path))
    assert cut_problems(cuts, CharTokenizer(), urls=False)
    assert not cut_problems(cuts, CharTokenizer(), urls=True)


def test_shar_shard_recording_from_a_command_is_refused_before_reading(tmp_path: Path) -> None:
    """A Shar shard's own recording manifest replaces the cut's: it is checked when read."""
    cuts = CutSet.from_file(write_cuts(tmp_path / "data", ["one", "two"]))
    shar = tmp_path / "shar"
    shar.mkdir()
    cuts.to_shar(shar, fields={"recording": "flac"}, shard_size=2)
    marker = tmp_path / "ran"
    tar_path = shar / "recording.000000.tar"
    with tarfile.open(tar_path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(tar_path, "w") as tar:
        for member, data in members:
            if member.name.endswith(".json"):
                recording = json.loads(data)
                _reverb_from_command({"recording": recording}, marker)
                data = json.dumps(recording).encode()
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    read = CutBatches(CharTokenizer(), 16000)
    with pytest.raises(AudioError, match=r"^cut utt0-\d+: audio comes from a pipe command"):
        read[CutSet.from_shar(in_dir=shar)]
    assert not marker.exists()


@pytest.mark.parametrize("lazy", [False, True])
def test_line_that_is_not_a_cut_is_named_by_file_and_line(lazy: bool, tmp_path: Path) -> None:
    def retype(cut: dict, marker: Path) -> None:
        cut["type"] = "os.system"

    cuts = _rewritten(write_cuts(tmp_path / "data", ["one", "two"]), retype, tmp_path)
    with pytest.raises(ManifestError, match=rf"^{cuts}:2: not a Lhotse Cut \(.*'os.system'"):
        data = data_module(cuts, tmp_path, lazy=lazy)
        data.setup("fit")
        list(data.train_dataloader())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration", float("nan"), "duration nan is not a finite number"),
        ("duration", float("inf"), "duration inf is not a finite number"),
        ("duration", "1.0", "duration '1.0' is not a finite number"),
        ("duration", -1.0, "duration -1.0 s is not a positive number"),
        ("text", 5, "supervision utt1 text is a int, not a string"),
        ("speaker", {"a": 1}, "supervision utt1 speaker is a dict, not a string"),
        ("start", -1.0, "lies outside its recording utt1"),
        ("sampling_rate", 0, "recording utt1 has sampling rate 0"),
    ],
)
def test_cut_that_is_not_a_real_span_is_named(
    field: str, value: object, message: str, tmp_path: Path
) -> None:
    def spoil(cut: dict, marker: Path) -> None:
        owner = {"sampling_rate": cut["recording"], "text": cut["supervisions"][0]}
        owner["speaker"] = cut["supervisions"][0]
        owner.get(field, cut)[field] = value

    cuts = CutSet.from_file(_rewritten(write_cuts(tmp_path, ["one", "two"]), spoil, tmp_path))
    problems = cut_problems(cuts, CharTokenizer())
    assert [p.where for p in problems] == ["cut utt1-1"]
    assert message in problems[0].message


def test_unreadable_audio_is_one_line_naming_the_cut(tmp_path: Path) -> None:
    """Lhotse appends the whole cut, over lines, to its error: the first line is kept."""

    def shar_placeholder(cut: dict, marker: Path) -> None:
        cut["recording"]["sources"] = [{"type": "shar", "channels": [0], "source": "../../a"}]

    cuts = _rewritten(write_cuts(tmp_path / "data", ["one", "two"]), shar_placeholder, tmp_path)
    data = data_module(cuts, tmp_path)
    data.setup("fit")
    with pytest.raises(AudioError) as err:
        list(data.train_dataloader())
    assert str(err.value).startswith("cut utt1-1: cannot read its audio (Inconsistent state")
    assert "\n" not in str(err.value)


def _shar(cuts: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    CutSet.from_file(cuts).to_shar(folder, fields={"recording": "flac"}, shard_size=2)
    return folder


def _rename_members(shar: Path) -> None:
    """The audio shard's members named `../../ID.flac`: they must not be written anywhere."""
    tar_path = shar / "recording.000000.tar"
    with tarfile.open(tar_path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(tar_path, "w") as tar:
        for member, data in members:
            member.name = f"../../{member.name}"
            tar.addfile(member, io.BytesIO(data))


def _retype_a_cut(shar: Path) -> None:
    shard = shar / "cuts.000000.jsonl.gz"
    lines = [json.loads(line) for line in gzip.open(shard, "rt")]
    lines[1]["type"] = "os.system"
    with gzip.open(shard, "wt") as f:
        f.write("".join(json.dumps(line) + "\n" for line in lines))


def _not_gzip(shar: Path) -> None:
    (shar / "cuts.000000.jsonl.gz").write_bytes(b"not gzip")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_retype_a_cut, "os.system"),
        (_not_gzip, "Not a gzipped file"),
    ],
)
def test_shar_shard_that_cannot_be_read_is_named(damage, message: str, tmp_path: Path) -> None:
    shar = _shar(write_cuts(tmp_path / "data", ["one", "two"]), tmp_path / "a" / "b" / "shar")
    damage(shar)
    data = data_module(shar, tmp_path)
    shard = r"cuts\.000000\.jsonl\.gz( \+ recording\.000000\.tar)?"  # metadata: cuts only
    with pytest.raises(ManifestError, match=rf"^Shar shard {shard} in {shar}: .*{message}"):
        data.setup("fit")
        list(data.train_dataloader())


def test_shar_members_named_outside_the_folder_are_refused_and_never_written(
    tmp_path: Path,
) -> None:
    shar = _shar(write_cuts(tmp_path / "data", ["one", "two"]), tmp_path / "a" / "b" / "shar")
    _rename_members(shar)
    data = data_module(shar, tmp_path)
    tar = shar / "recording.000000.tar"
    with pytest.raises(AudioError, match=rf"^Shar shard {tar}: cut \S+ meets audio \.\./\.\./"):
        data.setup("fit")
        list(data.train_dataloader())
    assert not list((tmp_path / "a").glob("*.flac"))


def _pipe_recording(lines: list[str], marker: Path) -> None:
    recording = json.loads(lines[1])
    recording["sources"] = [_command(marker)]
    lines[1] = json.dumps(recording)


def _not_json(lines: list[str], marker: Path) -> None:
    lines[1] = "not json"


def _a_supervision(lines: list[str], marker: Path) -> None:
    lines[1] = json.dumps({"id": "x", "recording_id": "x", "start": 0, "duration": 1})


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_pipe_recording, "cut utt1-1: audio comes from a pipe command"),
        (_not_json, r"r.jsonl:2: not a Lhotse Recording \(Expecting value"),
        (_a_supervision, r"r.jsonl:2: a SupervisionSegment, not a Lhotse Recording"),
    ],
)
def test_recordings_and_supervisions_lines_are_checked(
    damage, message: str, tmp_path: Path
) -> None:
    recordings, supervisions, _ = CutSet.from_file(write_cuts(tmp_path, ["a", "b"])).decompose()
    spec = {"recordings": str(tmp_path / "r.jsonl"), "supervisions": str(tmp_path / "s.jsonl")}
    recordings.to_file(spec["recordings"])
    supervisions.to_file(spec["supervisions"])
    lines = Path(spec["recordings"]).read_text().splitlines()
    marker = tmp_path / "ran"
    damage(lines, marker)
    Path(spec["recordings"]).write_text("\n".join(lines) + "\n")
    source = LhotseCuts(spec, spec, spec, str(tmp_path / "views"))
    data = LhotseDataModule(source, CharTokenizer(), FRAMES_OF, batch_size=3, seed=3)
    with pytest.raises(ManifestError, match=message):
        data.setup("fit")
    assert not marker.exists()


def test_command_in_a_list_of_recordings_in_a_custom_field_is_found(tmp_path: Path) -> None:
    cut = next(iter(CutSet.from_file(write_cuts(tmp_path / "data", ["one"]))))
    noise = fastcopy(
        cut.recording, sources=[AudioSource("command", [0], f"touch {tmp_path / 'ran'} |")]
    )
    assert source_problem(cut) is None
    cut.custom = {"noises": [noise]}
    assert "pipe command" in source_problem(cut)
