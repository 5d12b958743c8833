import io
import json
import shutil
import urllib.error
import zipfile
from pathlib import Path

import pytest

from asrlab.data.audio import audio_info
from asrlab.data.datasets import cache, fsdd
from asrlab.data.datasets.cache import DatasetError
from asrlab.data.datasets.fsdd import FSDD
from asrlab.data.manifest import read_manifest, validate
from asrlab.text.tokenizer import CharTokenizer
from helpers import write_recordings

SPEAKERS = ("anna", "ben", "carl")
DIGITS = (0, 7)
TAKES = range(11)  # 0-4 test, 5-9 val, 10 train
SHARED_FSDD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fsdd"


def rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def listing(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fsdd")
    write_recordings(root / "recordings")
    return root


def test_official_split_holds_out_takes_0_to_4_and_carves_val_from_train(
    data: Path, tmp_path: Path
) -> None:
    manifests = FSDD(str(data), str(tmp_path), download=False).prepare()
    assert manifests["train"].parent.parent == tmp_path
    splits = {split: rows(path) for split, path in manifests.items()}
    takes = {split: {row["take"] for row in lines} for split, lines in splits.items()}
    assert takes == {"test": {0, 1, 2, 3, 4}, "val": {5, 6, 7, 8, 9}, "train": {10}}
    per_take = len(SPEAKERS) * len(DIGITS)
    assert {split: len(lines) for split, lines in splits.items()} == {
        "train": per_take,
        "val": 5 * per_take,
        "test": 5 * per_take,
    }
    for row in splits["test"]:
        assert row["text"] == {0: "zero", 7: "seven"}[row["digit"]]
        assert row["id"] == f"{row['digit']}_{row['speaker']}_{row['take']}"
        assert Path(row["audio_filepath"]).is_absolute()
        assert row["duration"] == pytest.approx(audio_info(row["audio_filepath"]).duration)


def test_val_takes_as_a_count_or_a_list(data: Path, tmp_path: Path) -> None:
    two = FSDD(str(data), str(tmp_path), val_takes=2).prepare()
    assert {row["take"] for row in rows(two["val"])} == {5, 6}
    listed = FSDD(str(data), str(tmp_path), val_takes=[9, 10]).prepare()
    assert {row["take"] for row in rows(listed["val"])} == {9, 10}
    assert {row["take"] for row in rows(listed["train"])} == {5, 6, 7, 8}
    with pytest.raises(DatasetError, match=r"val_takes \[4\] are official test takes"):
        FSDD(str(data), str(tmp_path), val_takes=[4, 5])


def test_speaker_split_holds_out_whole_speakers(data: Path, tmp_path: Path) -> None:
    manifests = FSDD(
        str(data), str(tmp_path), split="speaker", test_speakers=["anna"], val_speakers=["ben"]
    ).prepare()
    speakers = {split: {row["speaker"] for row in rows(path)} for split, path in manifests.items()}
    assert speakers == {"test": {"anna"}, "val": {"ben"}, "train": {"carl"}}
    assert all(len(rows(path)) == len(DIGITS) * len(TAKES) for path in manifests.values())


def test_speakers_are_discovered_and_new_files_rewrite_the_manifests(
    data: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(data, root)
    options = {"split": "speaker", "test_speakers": ["anna"], "val_speakers": ["ben"]}
    before = FSDD(str(root), str(tmp_path / "manifests"), **options).prepare()
    write_recordings(root / "recordings", speakers=["dora"], takes=[0])
    after = FSDD(str(root), str(tmp_path / "manifests"), **options).prepare()
    assert after["train"].parent != before["train"].parent
    assert {row["speaker"] for row in rows(after["train"])} == {"carl", "dora"}


def test_unchanged_data_reuses_the_manifests_and_options_rename_them(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = FSDD(str(data), str(tmp_path)).prepare()
    written = {path: path.stat().st_mtime_ns for path in first.values()}

    def no_header_reads(path: object) -> None:
        raise AssertionError(f"cached manifests should be reused, but {path} was read")

    monkeypatch.setattr(cache, "audio_info", no_header_reads)
    assert FSDD(str(data / "recordings"), str(tmp_path)).prepare() == first
    assert {path: path.stat().st_mtime_ns for path in first.values()} == written
    monkeypatch.undo()
    other = FSDD(str(data), str(tmp_path), val_takes=3).prepare()
    assert other["val"].parent != first["val"].parent
    assert all(path.is_file() for path in first.values())
    assert not list(tmp_path.rglob("*.tmp"))


def test_manifests_load_and_validate_and_the_data_folder_is_untouched(
    data: Path, tmp_path: Path
) -> None:
    before = listing(data)
    manifests = FSDD(
        str(data), str(tmp_path), split="speaker", test_speakers=["carl"], val_speakers=["anna"]
    ).prepare()
    for path in manifests.values():
        utterances = read_manifest(path)
        validate(utterances, CharTokenizer())
        assert {u.text for u in utterances} == {"zero", "seven"}
    assert listing(data) == before


def test_unknown_speaker_lists_the_speakers_found(data: Path, tmp_path: Path) -> None:
    source = FSDD(
        str(data), str(tmp_path), split="speaker", test_speakers=["anna"], val_speakers=["zoe"]
    )
    with pytest.raises(DatasetError, match="zoe not found in .*found there: anna, ben, carl"):
        source.prepare()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"split": "speaker", "test_speakers": ["anna"]}, "needs test_speakers and val_speakers"),
        (
            {"split": "speaker", "test_speakers": ["anna"], "val_speakers": ["anna"]},
            r"\['anna'\] are in both",
        ),
        ({"test_speakers": ["anna"]}, "with split='speaker'"),
        ({"split": "random"}, "split must be 'official' or 'speaker'"),
        ({"val_takes": 0}, "at least one take"),
    ],
)
def test_bad_options_fail_at_once(options: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=message):
        FSDD(str(tmp_path), str(tmp_path), **options)


def test_all_speakers_held_out_leaves_train_empty(data: Path, tmp_path: Path) -> None:
    source = FSDD(
        str(data),
        str(tmp_path),
        split="speaker",
        test_speakers=["anna", "carl"],
        val_speakers=["ben"],
    )
    with pytest.raises(DatasetError, match="no utterances for the train split"):
        source.prepare()


def test_missing_or_empty_data_folder_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no data at .*recordings/\{digit\}_\{speaker\}"):
        FSDD(str(tmp_path / "absent"), str(tmp_path), download=False).prepare()
    (tmp_path / "empty" / "recordings").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no recordings in"):
        FSDD(str(tmp_path / "empty"), str(tmp_path)).prepare()


class FakeResponse(io.BytesIO):
    """What `urlopen` returns, serving bytes from memory."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def published_archive(tmp_path: Path) -> bytes:
    """A zip laid out like the repository's archive: recordings/ beside other files."""
    write_recordings(tmp_path / "src", speakers=SPEAKERS, digits=[3], takes=range(11))
    buffer = io.BytesIO()
    top = "free-spoken-digit-dataset-master"
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{top}/README.md", "FSDD")
        for path in sorted((tmp_path / "src").iterdir()):
            zf.write(path, f"{top}/recordings/{path.name}")
        zf.writestr(f"{top}/utils/0_jackson_0.wav", b"not a recording")
    return buffer.getvalue()


def test_download_extracts_only_the_recordings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    archive = published_archive(tmp_path)
    requested = []

    def fake_urlopen(url: str, timeout: float) -> FakeResponse:
        requested.append(url)
        return FakeResponse(archive)

    monkeypatch.setattr(fsdd, "urlopen", fake_urlopen)
    root = tmp_path / "fsdd"
    with caplog.at_level("INFO", logger=fsdd.__name__):
        manifests = FSDD(str(root), str(tmp_path / "manifests")).prepare()
    assert requested == [fsdd.URL]
    assert "downloading" in caplog.text and "extracted 33 recordings" in caplog.text
    assert [p.name for p in root.iterdir()] == ["recordings"]
    assert len(list((root / "recordings").iterdir())) == 33
    assert sum(len(rows(path)) for path in manifests.values()) == 33
    assert {row["text"] for row in rows(manifests["test"])} == {"three"}


def test_offline_download_says_where_to_put_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str, timeout: float) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(fsdd, "urlopen", offline)
    root = tmp_path / "fsdd"
    with pytest.raises(DatasetError, match=r"cannot download .*no network.*put the recordings"):
        FSDD(str(root), str(tmp_path / "manifests")).prepare()
    assert list(root.iterdir()) == []


def test_an_archive_that_is_not_a_zip_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fsdd, "urlopen", lambda url, timeout: FakeResponse(b"<html>"))
    with pytest.raises(DatasetError, match="did not give a zip archive"):
        FSDD(str(tmp_path / "fsdd"), str(tmp_path / "manifests")).prepare()


@pytest.mark.skipif(not SHARED_FSDD.is_dir(), reason="no ../shared/data/fsdd beside the repository")
def test_the_shared_fsdd_data_gives_a_speaker_independent_split(tmp_path: Path) -> None:
    manifests = FSDD(
        str(SHARED_FSDD),
        str(tmp_path),
        split="speaker",
        test_speakers=["theo"],
        val_speakers=["nicolas"],
        download=False,
    ).prepare()
    splits = {split: rows(path) for split, path in manifests.items()}
    assert len({row["speaker"] for lines in splits.values() for row in lines}) == 5
    assert sum(len(lines) for lines in splits.values()) == 2500
    assert len(splits["test"]) == 500 and len(splits["val"]) == 500
    assert {row["speaker"] for row in splits["train"]} == {"george", "jackson", "lucas"}
    validate(read_manifest(manifests["test"]), CharTokenizer())
