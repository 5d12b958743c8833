"""Trial folder names and the working folder outside a Hydra job."""

import os
from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig

from asrlab.training.resolvers import MAX_NAME_CHARS, trial_dir, working_dir


def test_a_trial_is_named_by_its_number_and_swept_values_cut_short() -> None:
    overrides = ["data.source.train=/a/b.jsonl", "+note=" + "x" * 300, "seed=2", "~augment"]
    name = trial_dir(7, overrides, exclude_keys=["data.source.train", "note"])
    assert name == "7_seed=2,_augment="
    long = trial_dir(12, [f"key{i}=" + "v" * 300 for i in range(20)], exclude_keys=[])
    assert len(long) == MAX_NAME_CHARS and long.startswith("12_key0=" + "v" * 24 + ",key1=")
    assert trial_dir(3, ["decoder.words=[one, two]", "x='a/b c'"], []) == (
        "3_decoder.words=_one,_two_,x=_a_b_c_"
    )
    assert trial_dir(0, ["seed=1"], exclude_keys=["seed"]) == "0"


def test_the_working_folder_outside_a_job_is_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # as before a multirun's first job
    assert working_dir() == os.getcwd() == str(tmp_path)
