import json
import shutil
from pathlib import Path

import pytest

from asrlab.data.datasets import cache
from asrlab.data.datasets.cache import DatasetError
from asrlab.data.datasets.librispeech import LibriSpeech
from asrlab.data.manifest import read_manifest, validate
from asrlab.text.tokenizer import CharTokenizer
from helpers import write_chapter

# subset -> speakers, each with one chapter of two utterances
SUBSETS = {
    "train-clean-100": ("19", "26"),
    "train-clean-360": ("100", "101"),
    "dev-clean": ("84", "174"),
    "test-clean": ("61", "121"),
}
TEXTS = ("HE HOPED THERE WOULD BE STEW", "IT'S A FINE DAY")


def rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def listing(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding LibriSpeech/, as the subset archives unpack."""
    root = tmp_path_factory.mktemp("librispeech")
    for subset, speakers in SUBSETS.items():
        for speaker in speakers:
            write_chapter(root / "LibriSpeech" / subset, speaker, f"{speaker}0", TEXTS)
    return root


def test_default_splits_are_whole_subsets_with_their_transcripts(
    data: Path, tmp_path: Path
) -> None:
    manifests = LibriSpeech(str(data), str(tmp_path)).prepare()
    splits = {split: rows(path) for split, path in manifests.items()}
    assert {split: len(lines) for split, lines in splits.items()} == {
        "train": 4,
        "val": 4,
        "test": 4,
    }
    first = splits["val"][0]
    assert first["id"] == "174-1740-0000" and first["text"] == TEXTS[0]
    assert (first["speaker"], first["chapter"], first["subset"]) == ("174", "1740", "dev-clean")
    assert Path(first["audio_filepath"]) == (
        data / "LibriSpeech" / "dev-clean" / "174" / "1740" / "174-1740-0000.flac"
    )
    assert first["duration"] == pytest.approx(0.1)
    speakers = {split: {row["speaker"] for row in lines} for split, lines in splits.items()}
    assert speakers == {"train": {"19", "26"}, "val": {"84", "174"}, "test": {"61", "121"}}


def test_a_split_may_join_subsets(data: Path, tmp_path: Path) -> None:
    manifests = LibriSpeech(
        str(data), str(tmp_path), train=["train-clean-100", "train-clean-360"]
    ).prepare()
    train = rows(manifests["train"])
    assert len(train) == 8
    assert {row["subset"] for row in train} == {"train-clean-100", "train-clean-360"}


def test_manifests_load_and_validate_and_the_data_folder_is_untouched(
    data: Path, tmp_path: Path
) -> None:
    before = listing(data)
    for path in LibriSpeech(str(data), str(tmp_path)).prepare().values():
        validate(read_manifest(path), CharTokenizer())
    assert listing(data) == before


def test_root_may_be_the_librispeech_folder_and_unchanged_data_is_reused(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = LibriSpeech(str(data), str(tmp_path)).prepare()

    def no_header_reads(path: object) -> None:
        raise AssertionError(f"cached manifests should be reused, but {path} was read")

    monkeypatch.setattr(cache, "audio_info", no_header_reads)
    assert LibriSpeech(str(data / "LibriSpeech"), str(tmp_path)).prepare() == first


def test_options_and_new_files_rewrite_the_manifests(data: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(data, root)
    first = LibriSpeech(str(root), str(tmp_path)).prepare()
    other = LibriSpeech(str(root), str(tmp_path), val=["train-clean-360"]).prepare()
    assert other["val"].parent != first["val"].parent
    write_chapter(root / "LibriSpeech" / "dev-clean", "84", "841", ("ANOTHER CHAPTER",))
    grown = LibriSpeech(str(root), str(tmp_path)).prepare()
    assert grown["val"].parent != first["val"].parent
    assert len(rows(grown["val"])) == 5


def test_a_transcript_line_without_audio_names_the_file_and_line(
    data: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(data, root)
    (root / "LibriSpeech" / "test-clean" / "61" / "610" / "61-610-0001.flac").unlink()
    with pytest.raises(DatasetError, match=r"61-610\.trans\.txt:2: the audio of 61-610-0001"):
        LibriSpeech(str(root), str(tmp_path)).prepare()


def test_unknown_subset_lists_the_subsets_found(data: Path, tmp_path: Path) -> None:
    with pytest.raises(
        DatasetError,
        match="dev-other not found in .*found there: dev-clean, "
        "test-clean, train-clean-100, train-clean-360",
    ):
        LibriSpeech(str(data), str(tmp_path), val=["dev-other"]).prepare()


def test_missing_data_folder_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no data at .*<speaker>-<chapter>\.trans\.txt"):
        LibriSpeech(str(tmp_path / "absent"), str(tmp_path)).prepare()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"test": []}, "the test split names no subset"),
        ({"test": ["dev-clean"]}, r"\['dev-clean'\] are named twice"),
    ],
)
def test_bad_options_fail_at_once(options: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=message):
        LibriSpeech(str(tmp_path), str(tmp_path), **options)
