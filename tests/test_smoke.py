"""ASRLAB_SMOKE: the overrides that shrink a command, appended by its entry point."""

import logging
import sys

import pytest

from asrlab.cli.smoke import OPTUNA, SMOKE_ENV, SYNTH_DIGITS, TRAINING, shrinkable, smoke_overrides


def test_training_shrinks_to_one_short_epoch_on_tiny_synth_digits_unless_other_data() -> None:
    small = TRAINING + SYNTH_DIGITS
    assert smoke_overrides(["encoder=lstm", "trainer.max_epochs=20"], training=True) == small
    assert smoke_overrides(["-m", "seed=1,2", "experiment=crnn"], training=True) == small
    assert smoke_overrides(["data=synth_digits", "experiment=nope"], training=True) == small
    saved = ["--config-path", "RUN/.hydra", "--config-name", "config"]
    fsdd = (["experiment=fsdd_si"], ["experiment=fsdd_loso"])  # fsdd_loso builds on fsdd_si
    for other in (["data=manifest"], *fsdd, saved, ["-cp=RUN/.hydra"]):
        assert smoke_overrides(other, training=True) == TRAINING
    assert smoke_overrides(["-m", "hparams_search=optuna"], training=True) == small + OPTUNA
    assert smoke_overrides(["hparams_search=decode_optuna"], training=False) == OPTUNA
    assert smoke_overrides(["ckpt_path=x"], training=False) == []


def test_the_entry_point_appends_them_when_the_variable_is_set(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen = []
    main = shrinkable(lambda: seen.append(sys.argv[1:]), training=False)
    monkeypatch.setattr(sys, "argv", ["asrlab-decode", "hparams_search=decode_optuna"])
    for value in (None, "", "0", "1"):
        if value is None:
            monkeypatch.delenv(SMOKE_ENV, raising=False)
        else:
            monkeypatch.setenv(SMOKE_ENV, value)
        with caplog.at_level(logging.WARNING, logger="asrlab.cli.smoke"):
            main()
    unchanged = ["hparams_search=decode_optuna"]
    assert seen == [unchanged, unchanged, unchanged, unchanged + OPTUNA]
    (record,) = caplog.records
    assert record.getMessage() == f"{SMOKE_ENV} is set: a smoke run, with {' '.join(OPTUNA)}"
