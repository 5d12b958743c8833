import json
from pathlib import Path

import pytest

from asrlab.data.datasets.cache import DatasetError
from asrlab.data.datasets.manifest import Manifests
from asrlab.data.datasets.mix import Mix
from asrlab.data.manifest import read_manifest
from helpers import write_dataset


def _source(folder: Path, texts: list[str]) -> Manifests:
    train = write_dataset(folder, texts)
    return Manifests(train=str(train), val=str(train), test=str(train))


def _mix(tmp_path: Path, **kwargs) -> Mix:
    sources = {
        "real": _source(tmp_path / "real", ["one", "two", "three"]),
        "synth": _source(tmp_path / "synth", ["four", "five", "six", "seven"]),
    }
    return Mix(sources, eval_source="real", manifest_dir=str(tmp_path / "manifests"), **kwargs)


def test_weights_scale_each_source_and_eval_comes_from_one(tmp_path: Path) -> None:
    manifests = _mix(tmp_path, weights={"real": 2.0, "synth": 0.5}).prepare()
    lines = [json.loads(line) for line in manifests["train"].read_text().splitlines()]
    sources = [line["source"] for line in lines]
    assert sources.count("real") == 6 and sources.count("synth") == 2
    assert manifests["val"] == manifests["test"] == tmp_path / "real" / "train.jsonl"
    assert all(Path(u.audio_filepath).is_file() for u in read_manifest(manifests["train"]))


def test_mix_is_deterministic_and_cached(tmp_path: Path) -> None:
    first = _mix(tmp_path, weights={"synth": 0.5}, seed=3).prepare()["train"]
    text = first.read_text()
    again = _mix(tmp_path, weights={"synth": 0.5}, seed=3).prepare()["train"]
    assert again == first and again.read_text() == text
    other = _mix(tmp_path, weights={"synth": 0.5}, seed=4).prepare()["train"]
    assert other != first


def test_unknown_source_names_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not among the sources"):
        _mix(tmp_path, weights={"fsdd": 1.0})
