import json
from pathlib import Path

import pytest

from asrlab.data.datasets.cache import DatasetError
from asrlab.data.datasets.fsdd import FSDD
from asrlab.data.datasets.manifest import Manifests
from asrlab.data.folds import SpeakerFolds, build_source, fold_of, speakers_of
from asrlab.data.source import training_manifest
from asrlab.training.compose import compose_config
from helpers import write_recordings

SPEAKERS = ("anna", "ben", "carl", "dora")
TAKES = (0, 5, 10)  # one of each official split (test, val, train): the source's own splits


def speakers(manifest: Path) -> set[str]:
    return {json.loads(line)["speaker"] for line in manifest.read_text().splitlines()}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fsdd")
    write_recordings(root / "recordings", speakers=SPEAKERS, digits=[0, 7], takes=TAKES)
    return root


def folds(root: Path, tmp_path: Path, **options) -> SpeakerFolds:
    return SpeakerFolds(FSDD(str(root), str(tmp_path), download=False), str(tmp_path), **options)


@pytest.mark.parametrize(
    ("fold", "test", "val"), [(0, "anna", "ben"), (2, "carl", "dora"), (3, "dora", "anna")]
)
def test_fold_k_tests_the_kth_speaker_and_validates_on_the_next(
    recordings: Path, tmp_path: Path, fold: int, test: str, val: str
) -> None:
    source = folds(recordings, tmp_path, fold=fold)
    manifests = source.prepare()
    found = {split: speakers(path) for split, path in manifests.items()}
    assert found == {"test": {test}, "val": {val}, "train": set(SPEAKERS) - {test, val}}
    assert all(
        len(path.read_text().splitlines()) == 6
        for split, path in manifests.items()
        if split != "train"
    )
    assert source.fold is not None and source.fold.record() == {
        "fold": fold,
        "test_speaker": test,
        "val_speaker": val,
        "speakers": list(SPEAKERS),
    }
    assert folds(recordings, tmp_path, test_speaker=test).prepare() == manifests


def test_a_speaker_added_to_the_data_adds_a_fold(recordings: Path, tmp_path: Path) -> None:
    root = tmp_path / "fsdd"
    write_recordings(root / "recordings", speakers=SPEAKERS, digits=[0], takes=TAKES)
    assert folds(root, tmp_path).speakers() == list(SPEAKERS)
    with pytest.raises(DatasetError, match="fold=4 is not a fold: folds are 0-3"):
        folds(root, tmp_path, fold=4).prepare()
    write_recordings(root / "recordings", speakers=["emil"], digits=[0], takes=TAKES)
    manifests = folds(root, tmp_path, fold=4).prepare()
    assert (speakers(manifests["test"]), speakers(manifests["val"])) == ({"emil"}, {"anna"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fold": 9}, "fold=9 is not a fold: folds are 0-3, one per speaker; 4 speaker"),
        ({"fold": -1}, "fold=-1 is not a fold: folds are 0-3"),
        ({"fold": True}, "fold=True is not a fold: folds are 0-3"),  # not fold 1
        ({"test_speaker": "zoe"}, "test_speaker=zoe is not in the data; 4 speaker"),
        ({}, "needs one of data.source.fold=K .0-3. or data.source.test_speaker=NAME"),
        ({"fold": 0, "test_speaker": "ben"}, "needs one of"),
        ({"fold": "all"}, "fold=all trains one run per fold: start a multirun"),
    ],
)
def test_bad_fold_lists_the_speakers_found(
    recordings: Path, tmp_path: Path, options: dict, message: str
) -> None:
    with pytest.raises(DatasetError, match=f"{message}.*found: anna, ben, carl, dora"):
        folds(recordings, tmp_path, **options).prepare()


def test_too_few_speakers_or_unlabelled_lines_are_named(tmp_path: Path) -> None:
    root = tmp_path / "fsdd"
    write_recordings(root / "recordings", speakers=["anna", "ben"], digits=[0], takes=TAKES)
    with pytest.raises(DatasetError, match=r"3 speakers or more .*2 speaker\(s\) found: anna, ben"):
        folds(root, tmp_path, fold=0).prepare()
    manifest = tmp_path / "all.jsonl"
    line = {"audio_filepath": "a.wav", "duration": 1.0, "text": "zero"}
    manifest.write_text(json.dumps({**line, "speaker": "x"}) + "\n" + json.dumps(line) + "\n")
    source = Manifests(str(manifest), str(manifest), str(manifest))
    with pytest.raises(DatasetError, match=rf"{manifest}:2: no `speaker` field"):
        SpeakerFolds(source, str(tmp_path), fold=0).prepare()


def compose(recordings: Path, tmp_path: Path, *overrides: str):
    fsdd, synth = "data.source.sources.fsdd", "data.source.sources.synth_digits"
    options = [f"{fsdd}.root={recordings}", f"{fsdd}.download=false", f"{synth}.num_train=3"]
    options += [f"{synth}.num_val=1", f"{synth}.num_test=1", f"{synth}.workers=1"]
    return compose_config(
        ["experiment=fsdd_loso", *options, *overrides], tmp_path / "run", data_dir=tmp_path
    )


def test_fsdd_loso_folds_the_mix_eval_source_only(recordings: Path, tmp_path: Path) -> None:
    cfg = compose(recordings, tmp_path, "data.source.fold=1")
    assert speakers_of(cfg.data.source) == list(SPEAKERS)
    source = build_source(cfg.data.source)
    manifests = source.prepare()
    assert (speakers(manifests["test"]), speakers(manifests["val"])) == ({"ben"}, {"carl"})
    fold = fold_of(source)
    assert fold is not None and (fold.test_speaker, fold.val_speaker) == ("ben", "carl")
    train = [json.loads(line) for line in training_manifest(cfg).read_text().splitlines()]
    fsdd_speakers = {row["speaker"] for row in train if row["source"] == "fsdd"}
    assert fsdd_speakers == {"anna", "dora"}
    assert any(row["source"] == "synth_digits" for row in train)


def test_fold_options_without_folds_are_refused(tmp_path: Path) -> None:
    cfg = compose_config(["data.source.fold=1"], tmp_path / "run", data_dir=tmp_path)
    with pytest.raises(DatasetError, match="data.source.fold needs data.source.folds=speaker"):
        build_source(cfg.data.source)
    assert (
        fold_of(build_source(compose_config([], tmp_path, data_dir=tmp_path).data.source)) is None
    )
