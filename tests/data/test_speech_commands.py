import json
import shutil
from pathlib import Path

import pytest

from asrlab.data.audio import write_audio
from asrlab.data.datasets import cache
from asrlab.data.datasets.cache import DatasetError
from asrlab.data.datasets.speech_commands import SpeechCommands
from asrlab.data.manifest import read_manifest, validate
from asrlab.text.tokenizer import CharTokenizer
from helpers import SAMPLE_RATE, speech_commands_clips, tone, write_speech_commands

WORDS = ("dog", "marvin", "yes")
SPEAKERS = ("0a7c2a8d", "1b4c9b89", "2c6d5e11", "3d8f7a22")  # val: 2c6d5e11, test: 3d8f7a22
CLIPS_PER_SPEAKER = 2


def rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def listing(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


def clips_of(speaker: str) -> list[str]:
    return speech_commands_clips(WORDS, speaker, CLIPS_PER_SPEAKER)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("speech_commands")
    write_speech_commands(root, WORDS, SPEAKERS, CLIPS_PER_SPEAKER)
    return root


def test_the_lists_define_val_and_test_and_the_rest_trains(data: Path, tmp_path: Path) -> None:
    manifests = SpeechCommands(str(data), str(tmp_path)).prepare()
    splits = {split: rows(path) for split, path in manifests.items()}
    per_speaker = len(WORDS) * CLIPS_PER_SPEAKER
    assert {split: len(lines) for split, lines in splits.items()} == {
        "train": 2 * per_speaker,
        "val": per_speaker,
        "test": per_speaker,
    }
    speakers = {split: {row["speaker"] for row in lines} for split, lines in splits.items()}
    assert speakers == {"train": set(SPEAKERS[:2]), "val": {SPEAKERS[2]}, "test": {SPEAKERS[3]}}
    assert {row["text"] for lines in splits.values() for row in lines} == set(WORDS)
    row = splits["test"][0]
    assert row["id"] == f"dog/{SPEAKERS[3]}_nohash_0.wav"
    assert Path(row["audio_filepath"]) == data / row["id"]
    assert row["duration"] == pytest.approx(0.1)


def test_manifests_load_and_validate_and_the_data_folder_is_untouched(
    data: Path, tmp_path: Path
) -> None:
    before = listing(data)
    for path in SpeechCommands(str(data), str(tmp_path)).prepare().values():
        validate(read_manifest(path), CharTokenizer())
    assert listing(data) == before


def test_words_restrict_the_vocabulary(data: Path, tmp_path: Path) -> None:
    manifests = SpeechCommands(str(data), str(tmp_path), words=["yes", "marvin"]).prepare()
    for path in manifests.values():
        assert {row["text"] for row in rows(path)} == {"marvin", "yes"}
    with pytest.raises(DatasetError, match="cat not found in .*found there: dog, marvin, yes"):
        SpeechCommands(str(data), str(tmp_path), words=["cat", "dog"]).prepare()


def test_unchanged_data_is_reused_and_changes_rewrite_the_manifests(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    shutil.copytree(data, root)
    first = SpeechCommands(str(root), str(tmp_path)).prepare()
    with monkeypatch.context() as patch:
        patch.setattr(cache, "audio_info", lambda path: pytest.fail(f"{path} was read again"))
        assert SpeechCommands(str(root), str(tmp_path)).prepare() == first
    fewer = SpeechCommands(str(root), str(tmp_path), words=["dog", "yes"]).prepare()
    assert fewer["train"].parent != first["train"].parent
    write_audio(root / "dog" / "4e0f1b33_nohash_0.wav", tone(0.1), SAMPLE_RATE)
    grown = SpeechCommands(str(root), str(tmp_path)).prepare()
    assert grown["train"].parent != first["train"].parent
    assert len(rows(grown["train"])) == len(rows(first["train"])) + 1


def test_list_problems_name_the_file_and_line(data: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(data, root)
    (root / "marvin" / f"{SPEAKERS[2]}_nohash_1.wav").unlink()
    with pytest.raises(DatasetError, match=r"validation_list\.txt:4: the clip marvin/"):
        SpeechCommands(str(root), str(tmp_path)).prepare()
    (root / "validation_list.txt").write_text(f"yes/{SPEAKERS[3]}_nohash_0.wav\n")
    with pytest.raises(DatasetError, match=f"yes/{SPEAKERS[3]}_nohash_0.wav is in both"):
        SpeechCommands(str(root), str(tmp_path)).prepare()
    (root / "testing_list.txt").unlink()
    with pytest.raises(DatasetError, match=r"testing_list\.txt is missing"):
        SpeechCommands(str(root), str(tmp_path)).prepare()


def test_missing_or_empty_data_folder_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no data at .*<word>/<speaker>_nohash_<n>\.wav"):
        SpeechCommands(str(tmp_path / "absent"), str(tmp_path)).prepare()
    (tmp_path / "empty" / "_background_noise_").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no word folders in"):
        SpeechCommands(str(tmp_path / "empty"), str(tmp_path)).prepare()
    with pytest.raises(DatasetError, match="words is empty"):
        SpeechCommands(str(tmp_path), str(tmp_path), words=[])
