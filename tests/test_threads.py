"""The `threads` config key: torch's CPU threads, applied and recorded in run_info.json."""

import json
from pathlib import Path

import pytest
import torch

from asrlab.training import threads
from asrlab.training.run_info import RUN_INFO
from asrlab.training.threads import set_threads


@pytest.fixture(autouse=True)
def keep_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_key_is_applied() -> None:
    torch.set_num_threads(3)
    assert set_threads(1) == "threads=1"
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("cpus, expected", [(1, 1), (2, 1), (16, 8)])
def test_default_is_half_the_available_cpus(
    cpus: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "available_cpus", lambda: cpus)
    assert set_threads(None) == f"threads=null: half of the {cpus} available CPUs"
    assert torch.get_num_threads() == expected


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_bad_threads_value_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="threads must be a positive integer or null"):
        set_threads(bad)


def test_run_info_records_the_threads_and_their_origin(tiny_run: Path) -> None:
    recorded = json.loads((tiny_run / RUN_INFO).read_text())
    cpus = threads.available_cpus()
    assert recorded["torch_threads"] == max(1, cpus // 2)
    assert recorded["torch_threads_origin"] == f"threads=null: half of the {cpus} available CPUs"
