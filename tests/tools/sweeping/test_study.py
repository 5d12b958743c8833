"""The study's storage URL as the trial processes see it."""

from pathlib import Path

import pytest

from asrlab.tools.sweeping.study import shared_url, shown_url


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


def test_a_password_in_the_url_is_masked_in_what_is_logged() -> None:
    shown = shown_url("postgresql+psycopg2://user:secret@host:5432/optuna")
    assert "secret" not in shown and shown.startswith("postgresql+psycopg2://user:***@host")
    assert shown_url("not a url") == "not a url"
