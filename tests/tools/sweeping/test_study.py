"""The study's storage URL as the trial processes see it."""

from pathlib import Path

import pytest

from asrlab.tools.sweeping.study import shared_url


def test_a_relative_sqlite_file_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert shared_url("sqlite:///studies/optuna.db") == f"sqlite:///{tmp_path}/studies/optuna.db"
    for unchanged in (
        f"sqlite:///{tmp_path}/optuna.db",
        "sqlite:///:memory:",
        "postgresql://user:secret@host:5432/optuna",
    ):
        assert shared_url(unchanged) == unchanged
