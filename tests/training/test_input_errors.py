"""An input error in a Hydra callback ends the command in one line; HYDRA_FULL_ERROR=1 adds its
traceback."""

import pytest

from asrlab.data.datasets.cache import DatasetError
from asrlab.training.input_errors import exit_from_callback


@pytest.mark.parametrize("full", ["0", "1"])
def test_a_callback_error_exits_in_one_line_its_traceback_on_request(
    full: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", full)
    try:
        raise DatasetError("fsdd: no recordings in data/fsdd/recordings")
    except DatasetError as error:
        exit = exit_from_callback(error)
    assert str(exit) == "asrlab-train: fsdd: no recordings in data/fsdd/recordings"
    assert ("Traceback" in capsys.readouterr().err) == (full == "1")
