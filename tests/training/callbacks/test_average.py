"""callbacks=average: checkpoints/averaged.ckpt at the end of a tiny fit, tested with
`average.test=true` (a run that kept fewer than k averages those, warning); a setup that would
not keep the checkpoints it averages is refused."""

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from asrlab.training.callbacks.average import AverageCheckpoints
from asrlab.training.checkpoint import read_checkpoint
from asrlab.training.run import train
from helpers import compose_train, manifest_overrides


def test_a_fit_writes_and_tests_the_average_of_its_newest_checkpoints(
    tiny_synth: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    overrides = manifest_overrides(tiny_synth) + [
        "encoder.hidden_size=16",
        "encoder.num_layers=1",
        "trainer.max_epochs=2",
        "callbacks=average",
        "callbacks.average.k=3",  # two epochs keep two: both averaged, with a warning
        "callbacks.average.test=true",
    ]
    metrics = train(compose_train(overrides, tmp_path))
    averaged = read_checkpoint(tmp_path / "checkpoints" / "averaged.ckpt")["averaged"]
    assert averaged["rank"] == "last"
    assert [r["global_step"] for r in averaged["checkpoints"]] == [2, 1]
    assert "callbacks.average.k=3, but the run kept 2 checkpoint(s)" in caplog.text
    assert metrics["tested_checkpoint"] == "checkpoints/averaged.ckpt"
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["tested_checkpoint"] == metrics["tested_checkpoint"]
    assert saved["best_checkpoint"] != saved["tested_checkpoint"]


@pytest.mark.parametrize(
    ("rank", "kept", "refused"),
    [
        ("best", ModelCheckpoint(monitor="val/wer", save_top_k=1), True),
        ("best", ModelCheckpoint(monitor="val/wer", save_top_k=3), False),
        ("last", ModelCheckpoint(monitor="val/wer", save_top_k=3), True),
        ("last", ModelCheckpoint(monitor="step", mode="max", save_top_k=3), False),
        ("last", ModelCheckpoint(save_top_k=-1), False),
    ],
)
def test_a_setup_that_keeps_too_few_checkpoints_is_refused(
    rank: str, kept: ModelCheckpoint, refused: bool
) -> None:
    average = AverageCheckpoints(k=3, rank=rank)
    trainer = pl.Trainer(callbacks=[kept, average], logger=False, enable_progress_bar=False)
    if refused:
        with pytest.raises(ValueError, match=f"rank={rank}, k=3.*callbacks=average"):
            average.setup(trainer, pl.LightningModule(), "fit")
    else:
        average.setup(trainer, pl.LightningModule(), "fit")
