import json
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from asrlab.data.audio import audio_info, read_audio
from asrlab.data.datasets import espeak
from asrlab.data.datasets import synth_digits as sd
from asrlab.data.datasets.accents import ACCENT_DIGITS
from asrlab.data.datasets.synth_digits import (
    DIGIT_WORDS,
    SPLITS,
    SynthDigits,
    split_voices,
    spoken_digits,
)
from asrlab.storage import staged_folder

SIZES = {"num_train": 12, "num_val": 4, "num_test": 4}
WORD = "(zero|one|two|three|four|five|six|seven|eight|nine)"
DIGITS = re.compile(rf"{WORD}( {WORD}){{0,4}}")


def rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def snapshot(manifests: dict[str, Path]) -> dict[str, bytes]:
    """Every manifest and audio file's bytes, by path relative to the dataset folder."""
    folder = manifests["train"].parent
    files = {}
    for manifest in manifests.values():
        files[manifest.name] = manifest.read_bytes()
        for row in rows(manifest):
            files[row["audio_filepath"]] = (folder / row["audio_filepath"]).read_bytes()
    return files


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return SynthDigits(str(tmp_path_factory.mktemp("one_worker")), workers=1, **SIZES).prepare()


def test_manifests_have_the_counts_and_fields(tiny: dict[str, Path]) -> None:
    assert set(tiny) == set(SPLITS)
    for split, count in zip(SPLITS, SIZES.values(), strict=True):
        lines = rows(tiny[split])
        assert len(lines) == count
        for row in lines:
            assert set(row) == {"audio_filepath", "duration", "text", "voice", "speaker"}
            assert row["speaker"] == row["voice"]
            assert not Path(row["audio_filepath"]).is_absolute()


def test_audio_files_match_the_manifest(tiny: dict[str, Path]) -> None:
    for manifest in tiny.values():
        for row in rows(manifest):
            info = audio_info(manifest.parent / row["audio_filepath"])
            assert (info.sample_rate, info.channels) == (16000, 1)
            assert row["duration"] == pytest.approx(info.duration, abs=1e-6)
            assert 0.3 < row["duration"] < 4.0


def test_texts_are_one_to_five_digit_words(tiny: dict[str, Path]) -> None:
    texts = [row["text"] for manifest in tiny.values() for row in rows(manifest)]
    assert all(DIGITS.fullmatch(text) for text in texts), texts
    assert len(set(texts)) > 1


def test_same_seed_gives_identical_files_whatever_the_worker_count(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    two_workers = SynthDigits(str(tmp_path), workers=2, **SIZES).prepare()
    assert two_workers["train"].parent.name == tiny["train"].parent.name
    assert snapshot(two_workers) == snapshot(tiny)


def test_another_seed_gives_other_audio(tiny: dict[str, Path], tmp_path: Path) -> None:
    other = SynthDigits(str(tmp_path), seed=99, workers=1, **SIZES).prepare()
    assert other["train"].parent.name != tiny["train"].parent.name
    ours, theirs = snapshot(tiny), snapshot(other)
    assert all(ours[name] != theirs[name] for name in ours if name.endswith(".wav"))


def test_a_second_prepare_reuses_the_cache(
    tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tiny["train"].parent.parent
    before = {path: path.stat().st_mtime_ns for path in root.rglob("*")}

    def regenerate(*_: object) -> None:
        raise AssertionError("regenerated a cached dataset")

    monkeypatch.setattr(SynthDigits, "_build", regenerate)
    assert SynthDigits(str(root), workers=2, **SIZES).prepare() == tiny
    assert {path: path.stat().st_mtime_ns for path in root.rglob("*")} == before


def test_an_interrupted_build_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sd, "_make_block", interrupted)
    with pytest.raises(KeyboardInterrupt):
        SynthDigits(str(tmp_path), workers=1, **SIZES).prepare()
    assert list(tmp_path.iterdir()) == []


def test_a_builder_that_finishes_second_uses_the_first_ones_files(tiny: dict[str, Path]) -> None:
    folder = tiny["train"].parent
    before = snapshot(tiny)
    with staged_folder(folder) as late:
        (late / "train.jsonl").write_text("")
    assert snapshot(tiny) == before
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_voices_of_the_splits_are_disjoint_and_exist(tiny: dict[str, Path]) -> None:
    voices = {split: set(split_voices(split)) for split in SPLITS}
    assert not voices["train"] & voices["val"]
    assert not voices["train"] & voices["test"]
    assert not voices["val"] & voices["test"]
    variants = {split: {v.split("+")[1] for v in voices[split]} for split in SPLITS}
    assert not variants["train"] & (variants["val"] | variants["test"])
    assert set().union(*variants.values()) <= set(espeak.variants())
    for split, manifest in tiny.items():
        assert {row["voice"] for row in rows(manifest)} <= voices[split]


def test_edges_are_quiet_but_not_digital_silence(tiny: dict[str, Path]) -> None:
    window = 16000 // 50  # 20 ms
    for row in rows(tiny["train"]):
        wave = read_audio(tiny["train"].parent / row["audio_filepath"], 16000).numpy()
        frames = wave[: len(wave) // window * window].reshape(-1, window)
        rms = np.sqrt((frames**2).mean(axis=1))
        assert rms[0] < 0.1 * rms.max() and rms[-1] < 0.1 * rms.max()
        assert np.count_nonzero(frames[0]) > window // 2
        assert 0.5 < np.abs(wave).max() <= 1.0


def test_every_generation_parameter_names_the_cache(tmp_path: Path) -> None:
    base = SynthDigits(str(tmp_path)).folder
    assert SynthDigits(str(tmp_path), workers=1).folder == base
    for change in (
        {"seed": 1},
        {"sample_rate": 8000},
        {"num_val": 3},
        {"max_digits": 4},
        {"snr_db_range": (20, 30)},
    ):
        assert SynthDigits(str(tmp_path), **change).folder != base


def test_unknown_voices_are_reported() -> None:
    engine = espeak.get_espeak()
    with pytest.raises(espeak.EspeakError, match="variant 'nosuch'"):
        engine.set_voice("en-us+nosuch")
    with pytest.raises(espeak.EspeakError, match="no voice 'xx-yy'"):
        engine.set_voice("xx-yy")


def test_a_long_data_path_is_copied_to_a_short_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / ("x" * 120) / "espeak-ng-data"
    (data / "voices").mkdir(parents=True)
    (data / "phontab").write_bytes(b"phonemes")
    library = tmp_path / "libespeak-ng.so"
    library.write_bytes(b"library")
    (tmp_path / "t").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "t"))
    monkeypatch.setattr(espeak, "_MAX_DATA_PATH_BYTES", len(str(tmp_path)) + 60)

    private_library, private_data = espeak._private_copies(library, data)
    assert len(str(private_data)) < len(str(data))
    assert (private_data / "phontab").read_bytes() == b"phonemes"
    assert private_library.read_bytes() == b"library"
    assert espeak._private_copies(library, data) == (private_library, private_data)


def test_workers_starting_together_build_the_private_copy_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the lock every worker found the folder missing and rebuilt it, the clean-up of one
    # deleting the copy another had just published and was loading ("cannot open shared object").
    data = tmp_path / "espeak-ng-data"
    data.mkdir()
    library = tmp_path / "libespeak-ng.so"
    library.write_bytes(b"library")
    (tmp_path / "t").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "t"))
    copies = []
    copy = shutil.copy

    def slow_copy(source: Path, target: Path) -> None:
        copies.append(target)
        time.sleep(0.2)  # every worker has checked for the folder by now
        copy(source, target)

    monkeypatch.setattr(shutil, "copy", slow_copy)
    start = threading.Barrier(4)

    def first_use() -> tuple[Path, Path]:
        start.wait()
        return espeak._private_copies(library, data)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: first_use(), range(4)))
    assert len(copies) == 1
    assert len(set(results)) == 1 and results[0][0].read_bytes() == b"library"


def test_an_accented_voice_reads_respellings_under_an_english_transcript(
    tmp_path: Path,
) -> None:
    assert spoken_digits([3, 1], "de+m1") == "sri wann"
    assert spoken_digits([3, 1], "en-us+m1") == "three one"
    manifests = SynthDigits(str(tmp_path), workers=1, accents=["de", "el"], **SIZES).prepare()
    for split, manifest in manifests.items():
        voices = {row["voice"] for row in rows(manifest)}
        assert voices <= set(split_voices(split, ["de", "el"]))
        assert all(DIGITS.fullmatch(row["text"]) for row in rows(manifest))
    train_bases = {v.split("+")[0] for v in split_voices("train", ["de", "el"])}
    assert {"de", "el", "en-us"} <= train_bases


def test_each_accent_says_its_respellings_by_its_own_rules() -> None:
    engine = espeak.get_espeak()
    engine.set_voice("de")
    assert "(en)" in engine.phonemes("sex")  # what a respelling must not do
    for language, words in ACCENT_DIGITS.items():
        engine.set_voice(language)
        phonemes = [engine.phonemes(word) for word in words]
        assert all(p and "(" not in p for p in phonemes), (language, phonemes)
        assert len(set(phonemes)) == len(DIGIT_WORDS), (language, phonemes)


def test_an_unknown_accent_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no respelt digits for accents \['xx'\].*de, el"):
        SynthDigits(str(tmp_path), accents=["de", "xx"])
