"""logger=csv, mlflow, wandb and lists of loggers: tiny runs, read back with each tool's reader,
the probe view's pictures included."""

import csv
import shutil
from pathlib import Path

import pytest
from matplotlib.image import imread
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from asrlab.tools.compare.runs import read_val_wer
from asrlab.training.run import train
from helpers import compose_train, manifest_overrides

TINY = [
    "encoder.hidden_size=16",
    "encoder.num_layers=1",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
]
PROBE_FILES = {"posteriorgram", "features", "augmented", "audio"}
"""The probe view's folders of one utterance, in the loggers that take files."""


def _train(tiny_synth: dict[str, Path], logger: str, run_dir: Path) -> dict:
    return train(compose_train(manifest_overrides(tiny_synth) + TINY + [logger], run_dir))


def _csv_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "csv" / "metrics.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def test_csv_logger_writes_metrics_and_hparams_beside_tensorboard(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    metrics = _train(tiny_synth, "logger=[tensorboard,csv]", tmp_path)
    rows = _csv_rows(tmp_path)
    assert [r["val/wer"] for r in rows if r["val/wer"]]
    assert [float(r["hp/test_wer"]) for r in rows if r["hp/test_wer"]] == [metrics["test_wer"]]
    assert "hidden_size: 16" in (tmp_path / "csv" / "hparams.yaml").read_text()
    probe = tmp_path / "csv" / "probe"  # the probe view as files, beside TensorBoard's
    assert imread(probe / "0" / "posteriorgram" / "step_000001.png").shape[1] == 720
    assert {p.name for p in (probe / "0").iterdir()} == PROBE_FILES
    assert "| 0 |" in (probe / "transcripts" / "step_000001.md").read_text()
    events = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    assert "val/wer" in events.Tags()["scalars"]
    # asrlab-compare's validation curve: the same from metrics.csv alone (a logger=csv run).
    curve = read_val_wer(tmp_path)
    assert curve and curve[-1].epoch == 1
    shutil.rmtree(tmp_path / "tensorboard")
    assert read_val_wer(tmp_path) == curve


@pytest.mark.slow  # importing MLflow and creating its store: about 9 s
def test_mlflow_logger_writes_a_local_store_with_the_run(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    mlflow = pytest.importorskip("mlflow", reason="the loggers extra: pip install -e .[loggers]")
    metrics = _train(tiny_synth, "logger=mlflow", tmp_path)
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("asrlab-train").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["encoder.hidden_size"] == "16"
    assert run.data.metrics["hp/test_wer"] == pytest.approx(metrics["test_wer"])
    assert client.get_metric_history(run.info.run_id, "val/wer")
    assert run.info.artifact_uri.startswith(str(tmp_path / "mlruns"))
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "probe/0")}
    assert artifacts == {f"probe/0/{name}" for name in PROBE_FILES}
    (picture,) = client.list_artifacts(run.info.run_id, "probe/0/posteriorgram")
    assert picture.path.endswith("step_000001.png") and picture.file_size > 1000
    assert not (tmp_path / "tensorboard").exists()


def test_wandb_logger_runs_offline_into_the_run_folder(
    tiny_synth: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wandb = pytest.importorskip("wandb", reason="the loggers extra: pip install -e .[loggers]")
    # No account and a server that does not answer: an online call would fail the run.
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "home" / name))
    monkeypatch.setenv("NETRC", str(tmp_path / "home" / "netrc"))
    _train(tiny_synth, "logger=wandb", tmp_path / "run")
    assert wandb.run is None  # finished, so that a multirun's next trial starts its own
    wandb.teardown()  # waits for W&B's service to write out what the run sent it
    (offline,) = (tmp_path / "run" / "wandb").glob("offline-run-*")
    (records,) = offline.glob("run-*.wandb")
    assert b"val/wer" in records.read_bytes() and b"hp/test_wer" in records.read_bytes()
    media = offline / "files" / "media"
    assert list((media / "images" / "probe" / "0").glob("posteriorgram_*.png"))
    assert list((media / "audio" / "probe" / "0").glob("audio_*.wav"))
    assert b"probe/transcripts" in records.read_bytes()
